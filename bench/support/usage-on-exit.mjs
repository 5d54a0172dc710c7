// Preloaded into a controller process (NODE_OPTIONS=--import) by the batch scaling benchmark: at
// exit, writes the process's own resource usage (CPU time, peak RSS) to BENCH_USAGE_DIR/<pid>.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_USAGE_DIR;
if (dir) process.on('exit', () => writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(process.resourceUsage())));
