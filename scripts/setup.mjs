#!/usr/bin/env node
// `npm run setup`: dependencies, a reachable Docker engine, the local template images.
// Idempotent: a second run with everything in place only checks and finishes in seconds.
// Node built-ins only — it runs before dependencies are installed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOCKERD_LOG = process.env.CAGED_DOCKERD_LOG ?? '/var/log/caged-dockerd.log';
const DOCKER_WAIT_MS = 60_000;
const started = Date.now();

function step(message) {
  console.log(`==> ${message}`);
}
function info(message) {
  console.log(`    ${message}`);
}
function fail(message) {
  console.error(`\nsetup failed: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) fail(`\`${command} ${args.join(' ')}\` exited with ${result.status}`);
}

function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', ...options });
  return { ok: !result.error && result.status === 0, stdout: (result.stdout ?? '').trim(), stderr: (result.stderr ?? '').trim() };
}

function sha256(...parts) {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

// 1. Dependencies ---------------------------------------------------------------------------
function installDependencies() {
  step('dependencies');
  const lock = readFileSync(join(root, 'package-lock.json'));
  const marker = join(root, 'node_modules', '.caged-lock-sha256');
  const wanted = sha256(lock);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) {
    info('node_modules matches package-lock.json (npm ci skipped)');
    return;
  }
  info('npm ci');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(marker, wanted);
}

function build() {
  step('build (tsc → lib/)');
  run('npm', ['run', '--silent', 'build']);
}

// 2. Docker engine ---------------------------------------------------------------------------
function dockerServerVersion() {
  const result = capture('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 });
  return result.ok && result.stdout ? result.stdout : undefined;
}

function isDebian() {
  return existsSync('/etc/debian_version');
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function hasCommand(name) {
  return capture('sh', ['-c', `command -v ${name}`]).ok;
}

function aptInstall(packages) {
  info(`apt-get install ${packages.join(' ')}`);
  run('apt-get', ['update', '-q'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  // With recommends, as seen working here: dockerd wants apparmor where the kernel enables it.
  run('apt-get', ['install', '-y', '-q', ...packages], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

async function ensureDocker() {
  step('docker engine');
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  let version = hasCommand('docker') ? dockerServerVersion() : undefined;
  if (version) {
    info(`reachable at ${where} (Docker ${version})`);
    return;
  }
  if (process.env.DOCKER_HOST || !isRoot() || !isDebian()) {
    fail(
      `no Docker engine answers at ${where}.\n` +
        (process.env.DOCKER_HOST
          ? '  DOCKER_HOST is set: start the engine it points at, or unset DOCKER_HOST.\n'
          : '  Install and start Docker (https://docs.docker.com/engine/install/), make sure your user may use it\n' +
            '  (e.g. `sudo usermod -aG docker $USER`, then log in again), and run `npm run setup` again.\n' +
            '  As root on Debian, setup installs and starts Debian\'s docker.io itself.\n'),
    );
  }
  if (!hasCommand('dockerd') || !hasCommand('docker')) aptInstall(['docker.io']);
  info(`starting dockerd in the background (log: ${DOCKERD_LOG})`);
  const log = openSync(DOCKERD_LOG, 'a');
  const daemon = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] });
  daemon.unref();
  closeSync(log);
  const deadline = Date.now() + DOCKER_WAIT_MS;
  while (Date.now() < deadline) {
    version = dockerServerVersion();
    if (version) {
      info(`dockerd is up (Docker ${version})`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const tail = existsSync(DOCKERD_LOG) ? readFileSync(DOCKERD_LOG, 'utf8').split('\n').slice(-15).join('\n') : '';
  fail(`dockerd did not answer within ${DOCKER_WAIT_MS / 1000} s. Last lines of ${DOCKERD_LOG}:\n${tail}`);
}

// 3. Template images -------------------------------------------------------------------------
function imageLabel(image, label) {
  const result = capture('docker', ['image', 'inspect', image, '--format', `{{index .Config.Labels "${label}"}}`]);
  return result.ok ? result.stdout.replace(/^<no value>$/, '') : undefined;
}

function imageId(image) {
  const result = capture('docker', ['image', 'inspect', image, '--format', '{{.Id}}']);
  return result.ok ? result.stdout : undefined;
}

/** The machine's own Debian mirror and codename, read from apt's sources (never hard-coded). */
function debianMirror() {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const codename = /^VERSION_CODENAME=(.+)$/m.exec(osRelease)?.[1]?.replace(/"/g, '') ?? 'bookworm';
  const candidates = [];
  const sourcesDir = '/etc/apt/sources.list.d';
  if (existsSync(sourcesDir)) {
    for (const name of readdirSync(sourcesDir).filter((file) => file.endsWith('.sources'))) {
      for (const stanza of readFileSync(join(sourcesDir, name), 'utf8').split(/\n\s*\n/)) {
        const field = (key) => new RegExp(`^${key}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (!field('Types').includes('deb') || !field('Suites').includes(codename)) continue;
        candidates.push(...field('URIs'));
      }
    }
  }
  if (existsSync('/etc/apt/sources.list')) {
    for (const line of readFileSync('/etc/apt/sources.list', 'utf8').split('\n')) {
      const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
      if (match && match[2] === codename) candidates.push(match[1]);
    }
  }
  const mirror = candidates.find((uri) => !/security/.test(uri));
  return mirror ? { mirror, codename } : undefined;
}

function ensureLocalBase() {
  const found = debianMirror();
  if (!found) fail('cannot build a local base image: no Debian mirror found in /etc/apt/sources.list(.d)');
  const { mirror, codename } = found;
  const image = `caged/base:${codename}`;
  if (imageId(image)) {
    info(`local base ${image} present`);
    return image;
  }
  if (!isRoot()) fail(`building the local base image ${image} needs root (debootstrap); run setup as root or make the public base images pullable`);
  if (!hasCommand('debootstrap')) aptInstall(['debootstrap']);
  const dir = mkdtempSync(join(tmpdir(), 'caged-base-'));
  try {
    info(`debootstrap ${codename} (minbase + git, ca-certificates) from the machine's apt mirror`);
    run('debootstrap', ['--variant=minbase', '--include=git,ca-certificates', codename, dir, mirror], { stdio: ['ignore', 'ignore', 'inherit'] });
    info(`docker import → ${image}`);
    const tar = spawnSync('sh', ['-c', `tar -C "${dir}" -c . | docker import --change 'LABEL dev.caged.base.contents="Debian ${codename} minbase + git, ca-certificates (debootstrap)"' - ${image}`], {
      stdio: 'inherit',
    });
    if (tar.status !== 0) fail(`docker import of ${image} failed`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return image;
}

function pullable(image) {
  if (imageId(image)) return true;
  info(`trying to pull ${image}`);
  return capture('docker', ['pull', '-q', image], { timeout: 120_000 }).ok;
}

function describeContents(image) {
  const probe = capture('docker', [
    'run', '--rm', '--network', 'none', '--entrypoint', 'sh', image, '-c',
    'echo "$(. /etc/os-release; echo $PRETTY_NAME)"; command -v node >/dev/null && echo "node $(node --version)"; command -v npm >/dev/null && echo "npm $(npm --version)"; command -v python3 >/dev/null && python3 --version; git --version',
  ]);
  return probe.ok ? probe.stdout.split('\n').join(', ') : 'unknown';
}

function buildTemplates() {
  step('template images');
  const templatesDir = join(root, 'templates');
  const provision = readFileSync(join(templatesDir, 'provision.sh'));
  let localBase;
  for (const file of readdirSync(templatesDir).filter((name) => name.endsWith('.Dockerfile')).sort()) {
    const name = file.replace(/\.Dockerfile$/, '');
    const image = `caged/template:${name}`;
    const dockerfile = readFileSync(join(templatesDir, file), 'utf8');
    const publicBase = /^ARG BASE_IMAGE=(\S+)/m.exec(dockerfile)?.[1];
    const recordedBase = imageLabel(image, 'dev.caged.template.base');
    const base = (recordedBase && imageId(recordedBase) && recordedBase) || (publicBase && pullable(publicBase) ? publicBase : (localBase ??= ensureLocalBase()));
    const hash = sha256(dockerfile, provision, imageId(base) ?? base);
    if (imageLabel(image, 'dev.caged.template.hash') === hash) {
      info(`${image} up to date (${imageLabel(image, 'dev.caged.template.contents')})`);
      continue;
    }
    info(`building ${image} FROM ${base}`);
    // Quiet build: the legacy builder's deprecation notice is noise; errors are shown in full.
    const built = capture('docker', [
      'build', '-q', '-f', join(templatesDir, file),
      '--build-arg', `BASE_IMAGE=${base}`,
      '--label', `dev.caged.template.base=${base}`,
      '--label', `dev.caged.template.hash=${hash}`,
      '--label', `dev.caged.template.name=${name}`,
      '-t', image, templatesDir,
    ]);
    if (!built.ok) fail(`building ${image} failed:\n${built.stderr}`);
    const contents = describeContents(image);
    const relabel = spawnSync('docker', ['build', '-q', '-t', image, '--label', `dev.caged.template.contents=${contents}`, '-'], {
      input: `FROM ${image}\n`,
      encoding: 'utf8',
    });
    if (relabel.status !== 0) fail(`labelling ${image} failed:\n${relabel.stderr}`);
    info(`${image}: ${contents}`);
  }
}

async function main() {
  step(`caged setup in ${root}`);
  installDependencies();
  build();
  if (process.env.CAGED_SETUP_SKIP_DOCKER === '1') {
    step('docker engine and templates skipped (CAGED_SETUP_SKIP_DOCKER=1)');
  } else {
    await ensureDocker();
    buildTemplates();
  }
  // The e2e test runs the product document's batch script as written, and it pipes through jq.
  if (!hasCommand('jq') && isDebian() && isRoot()) aptInstall(['jq']);
  step(`done in ${((Date.now() - started) / 1000).toFixed(1)} s — next: npm test`);
}

await main();
