// Builds the GitHub Action's committed bundles: dist/index.js (main) and dist/post.js (post).
// TypeScript compiles only the action's import graph (tsconfig.action.json), then ncc bundles
// each entry with its dependencies. Run after `npm ci --ignore-scripts`, so that no native
// `.node` file of an optional dependency ends up in dist/.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const build = join(root, 'node_modules', '.cache', 'caged-action');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

rmSync(build, { recursive: true, force: true });
run(bin('tsc'), ['-p', 'tsconfig.action.json']);
for (const entry of ['main', 'post']) {
  run(bin('ncc'), ['build', join(build, 'js', 'action', `${entry}.js`), '-o', join(build, entry), '--license', 'licenses.txt', '--quiet']);
}

const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
cpSync(join(build, 'main'), dist, { recursive: true });
cpSync(join(build, 'post', 'index.js'), join(dist, 'post.js'));
// Assets the post bundle needs that the main bundle did not bring.
for (const name of readdirSync(join(build, 'post'))) {
  if (name !== 'index.js' && !existsSync(join(dist, name))) cpSync(join(build, 'post', name), join(dist, name), { recursive: true });
}
if (readdirSync(dist, { recursive: true }).some((file) => String(file).endsWith('.node'))) {
  throw new Error('dist/ holds a native .node file: run `npm ci --ignore-scripts` before `npm run package`');
}
