import type Docker from 'dockerode';
import { DockerStreamDemuxer } from './demux.js';
import { dockerMessage, ignoreGone } from './docker-errors.js';
import { LABELS, type SandboxNetwork } from './types.js';

/**
 * Docker before 25 (API 1.44) gives containers on an `Internal` network a default route via
 * the gateway. Traffic to other networks is dropped in FORWARD, but traffic to the host's own
 * addresses (eth0, docker0, any other bridge) is local delivery and reaches every host service
 * listening there (moby/libnetwork#1151). Docker 25 and later set no default route.
 *
 * On such engines the sandbox joins the network namespace of a small holder container instead:
 * the holder (root with NET_ADMIN only, running nothing but this script) deletes the default
 * route and sleeps. The sandbox itself keeps CapDrop ALL, so it cannot put the route back, and
 * only its own subnet — where the gateway IP is — stays reachable.
 */
export const NO_DEFAULT_ROUTE_API = [1, 44] as const;

export function internalNetworksRouteOut(apiVersion: string): boolean {
  const [major = 0, minor = 0] = apiVersion.split('.').map(Number);
  return major < NO_DEFAULT_ROUTE_API[0] || (major === NO_DEFAULT_ROUTE_API[0] && minor < NO_DEFAULT_ROUTE_API[1]);
}

/** RTM_DELROUTE for 0.0.0.0/0 in the main table over rtnetlink, for images without `ip` (perl-base is in every Debian image). */
const PERL_DELETE_DEFAULT_ROUTE = [
  'use Socket;',
  'socket(my $s, 16, 3, 0) or die "netlink socket: $!\\n";',
  'my $kernel = pack("S S L L", 16, 0, 0, 0);',
  'bind($s, $kernel) or die "netlink bind: $!\\n";',
  'for my $seq (1 .. 16) {',
  '  send($s, pack("L S S L L C8 L", 28, 25, 5, $seq, 0, 2, 0, 0, 0, 254, 0, 255, 0, 0), 0, $kernel) or die "netlink send: $!\\n";',
  '  defined(recv($s, my $reply, 4096, 0)) or die "netlink recv: $!\\n";',
  '  my (undef, $type, undef, undef, undef, $err) = unpack("L S S L L l", $reply);',
  '  exit 0 if $type == 2 && $err == -3;',
  '  die "netlink error $err\\n" if $type == 2 && $err != 0;',
  '}',
  'die "default route keeps coming back\\n";',
].join('\n');

/** Says `ready` once /proc/net/route has no default route left (the sandbox checks it again itself). */
const HOLDER_SCRIPT =
  'if command -v ip >/dev/null 2>&1; then while ip -4 route del default 2>/dev/null; do :; done; ' +
  'elif command -v perl >/dev/null 2>&1; then perl -e "$1" || exit 1; ' +
  'else echo "neither ip nor perl in the image" >&2; exit 1; fi; ' +
  'while read -r _ destination _; do if [ "$destination" = 00000000 ]; then echo "the default route is still there" >&2; exit 1; fi; done < /proc/net/route; ' +
  'echo ready; exec sleep infinity';

export function holderName(id: string): string {
  return `${id}-netns`;
}

/** True when /proc/net/route lists a 0.0.0.0/0 destination. */
export function hasDefaultRoute(procNetRoute: string): boolean {
  return procNetRoute
    .split('\n')
    .slice(1)
    .some((line) => line.trim().split(/\s+/)[1] === '00000000');
}

const READY_PATIENCE_MS = 10_000;

/** Starts the holder on the sandbox's network and returns its container id once the default route is gone. */
export async function startNetnsHolder(
  docker: Docker,
  id: string,
  image: string,
  network: SandboxNetwork,
  labels: Record<string, string>,
): Promise<string> {
  const holder = await docker.createContainer({
    name: holderName(id),
    Hostname: id,
    Image: image,
    User: '0:0',
    Entrypoint: ['sh', '-c', HOLDER_SCRIPT, 'holder', PERL_DELETE_DEFAULT_ROUTE],
    Cmd: [],
    Labels: { ...labels, [LABELS.role]: 'netns' },
    HostConfig: {
      NetworkMode: network.name,
      CapDrop: ['ALL'],
      CapAdd: ['NET_ADMIN'],
      SecurityOpt: ['no-new-privileges:true'],
      Init: true,
      Memory: 64 * 1024 * 1024,
      MemorySwap: 64 * 1024 * 1024,
      PidsLimit: 16,
      RestartPolicy: { Name: 'no' },
    },
  });
  let watch: ReadyWatch | undefined;
  try {
    // Attached before the start, so that the holder's `ready` cannot be missed; the patience
    // counts from the start on.
    watch = watchForReady((await holder.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream);
    await holder.start();
    const outcome = await watch.outcome(READY_PATIENCE_MS);
    if (outcome !== 'ready') {
      const info = await holder.inspect();
      throw new Error(
        outcome === 'timeout'
          ? `sandbox ${id}: the default route of its internal network did not go away`
          : `sandbox ${id}: could not remove the default route of its internal network (exit ${info.State.ExitCode}): ${await logsOf(holder)}`,
      );
    }
    return holder.id;
  } catch (error) {
    watch?.cancel();
    await ignoreGone(() => holder.remove({ force: true }));
    throw error;
  }
}

type ReadyOutcome = 'ready' | 'exited' | 'timeout';

interface ReadyWatch {
  /** `ready` once the holder prints it, `exited` when its output ends first, `timeout` after `patienceMs` from now. */
  outcome(patienceMs: number): Promise<ReadyOutcome>;
  /** Stops watching and lets go of the attached stream. */
  cancel(): void;
}

function watchForReady(output: NodeJS.ReadableStream): ReadyWatch {
  let settle: (outcome: ReadyOutcome) => void = () => undefined;
  let settled: ReadyOutcome | undefined;
  let timer: NodeJS.Timeout | undefined;
  const finish = (outcome: ReadyOutcome) => {
    if (settled) return;
    settled = outcome;
    clearTimeout(timer);
    output.removeAllListeners('data');
    (output as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    settle(outcome);
  };
  let stdout = '';
  const demuxer = new DockerStreamDemuxer((kind, payload) => {
    if (kind !== 'stdout') return;
    stdout += payload.toString('utf8');
    if (stdout.split('\n').includes('ready')) finish('ready');
  });
  output.on('data', (chunk: Buffer) => demuxer.push(chunk));
  for (const event of ['end', 'close', 'error']) output.once(event, () => finish('exited'));
  return {
    outcome: (patienceMs) =>
      new Promise((resolve) => {
        if (settled) return resolve(settled);
        settle = resolve;
        timer = setTimeout(() => finish('timeout'), patienceMs);
      }),
    cancel: () => finish('exited'),
  };
}

/** The container's routing table, read with an exec that needs no tools (the sandbox has no `ip`). */
export async function readRoutes(container: Docker.Container): Promise<string> {
  const exec = await container.exec({ Cmd: ['cat', '/proc/net/route'], AttachStdout: true, AttachStderr: true, User: '0:0' });
  const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  return frameText(Buffer.concat(chunks));
}

/** stdout and stderr of a multiplexed stream, as one text. */
function frameText(raw: Buffer): string {
  const parts: Buffer[] = [];
  new DockerStreamDemuxer((_kind, payload) => parts.push(payload)).push(raw);
  return Buffer.concat(parts).toString('utf8');
}

async function logsOf(container: Docker.Container): Promise<string> {
  try {
    const raw = (await container.logs({ stdout: true, stderr: true, tail: 5 })) as unknown as Buffer;
    return frameText(raw).trim() || 'no output';
  } catch (error) {
    return dockerMessage(error);
  }
}
