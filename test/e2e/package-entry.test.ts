import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('the built package entry runs a sandbox programmatically with createLocalEngine', () => {
  const script = `
    import { mkdtempSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    import { createLocalEngine, mergeLayers, parseUsd, formatUsd } from 'caged';
    const engine = await createLocalEngine({ stateRoot: mkdtempSync(join(tmpdir(), 'caged-entry-')), log: () => {} });
    const sandbox = await engine.create({ config: mergeLayers({ budget: parseUsd('$1'), resources: { cpu: 1, memory: 256 } }), command: { shell: 'echo programmatic' } });
    const done = await engine.wait(sandbox.id);
    await engine.close();
    console.log(JSON.stringify({ status: done.status, message: done.final_message, budget: formatUsd(done.budget) }));
  `;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  expect(JSON.parse(output)).toEqual({ status: 'completed', message: 'programmatic', budget: '$1.00' });
});
