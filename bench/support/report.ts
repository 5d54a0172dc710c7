import type { BenchResult, Figure } from './figures.js';
import { table } from './markdown.js';

/** The machine and the moment, so that a reader can judge the numbers. */
export interface RunInfo {
  date: string;
  commit: string;
  machine: { cpus: number; cpu_model: string; memory_gib: number; node: string; docker: string; load_before: number[]; load_after: number[] };
  seed: number;
  quick: boolean;
  duration_s: number;
}

export interface BenchFile {
  version: 1;
  /** Each benchmark with the run that measured it (`--only` re-measures one and keeps the others). */
  benchmarks: Record<string, BenchResult & { run: RunInfo }>;
}

const ORDER = ['precision', 'overhead', 'start', 'scaling'];

function value(f: Figure): string {
  return `${f.value}${f.unit === '×' ? '×' : ` ${f.unit}`}`;
}

function target(f: Figure): string {
  return `${f.better === 'lower' ? '≤' : '≥'} ${f.target}${f.unit === '×' ? '×' : ` ${f.unit}`}`;
}

export function renderResults(file: BenchFile): string {
  const results = ORDER.map((name) => file.benchmarks[name]).filter((result) => result !== undefined);
  const runs = [...new Set(results.map((result) => JSON.stringify(result.run)))].map((text) => JSON.parse(text) as RunInfo);
  const lines: string[] = [
    '# caged benchmarks',
    '',
    'Written by `npm run bench` (bench/run.ts); the numbers behind this page are in [results.json](results.json). Every figure is a ratio or a bound measured side by side in one run on the machine below; each section names the command that measures it again.',
    '',
    ...runs.map(
      (run) =>
        `- Run of ${run.date} at commit \`${run.commit}\`${run.quick ? ' (--quick)' : ''}: ${run.machine.cpus} × ${run.machine.cpu_model}, ${run.machine.memory_gib} GiB, Node ${run.machine.node}, Docker ${run.machine.docker}; ` +
        `load average ${run.machine.load_before.join(' ')} before, ${run.machine.load_after.join(' ')} after; seed ${run.seed}; ${run.duration_s} s.`,
    ),
    '',
    '## Summary',
    '',
    table(
      ['benchmark', 'figure', 'measured', 'target', 'met'],
      results.flatMap((result) => result.figures.map((f) => [result.title, f.label, value(f), target(f), f.met ? 'yes' : '**no**'])),
    ),
    '',
  ];
  for (const result of results) {
    lines.push(
      `## ${result.title}`,
      '',
      `Reproduce: \`${result.command}\` (${result.duration_s} s)`,
      '',
      result.method,
      '',
      table(['figure', 'measured', 'target', 'met', 'how'], result.figures.map((f) => [f.label, value(f), target(f), f.met ? 'yes' : '**no**', f.how])),
      '',
      result.detailsMarkdown,
      '',
    );
    const missed = result.figures.filter((f) => !f.met);
    if (missed.length > 0) {
      lines.push('**Gaps and plans**', '');
      for (const plan of [...new Set(missed.map((f) => f.plan!))]) {
        lines.push(`- ${missed.filter((f) => f.plan === plan).map((f) => f.label).join('; ')}: ${plan}`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
