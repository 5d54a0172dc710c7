import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { caseSeed, Random } from './random.js';

/**
 * Seeded fuzzing with saved regressions. Each case draws from its own seed, so a failure is
 * replayed from `seed` alone; its input is also appended to the target's fixtures file, which
 * every run replays first. Inputs must be JSON values (they are stored as JSON).
 */

/** Overridable to explore further: CAGED_FUZZ_SEED=<n> CAGED_FUZZ_RUNS=<n> npx vitest run test/unit/fuzz */
export const FUZZ_SEED = Number(process.env.CAGED_FUZZ_SEED ?? 20_261_108);
export const FUZZ_RUNS = Number(process.env.CAGED_FUZZ_RUNS ?? 10_000);

export interface Regression<T> {
  /** The case seed that produced the input (null for hand-written cases). */
  seed: number | null;
  /** What went wrong when the case was saved. */
  failure: string;
  input: T;
}

export interface FuzzTarget<T> {
  /** The regression file (JSON: `{ "cases": [...] }`). */
  fixtures: string;
  generate(random: Random): T;
  /** Throws when the input breaks an invariant. */
  check(input: T): void;
}

export function regressions<T>(file: string): Array<Regression<T>> {
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { cases: Array<Regression<T>> }).cases;
}

/** Runs `runs` generated cases; stops at the first failure, saves it and throws with its seed. */
export function fuzz<T>(target: FuzzTarget<T>, options: { seed?: number; runs?: number } = {}): number {
  const seed = options.seed ?? FUZZ_SEED;
  const runs = options.runs ?? FUZZ_RUNS;
  for (let index = 0; index < runs; index += 1) {
    const current = caseSeed(seed, index);
    const input = target.generate(new Random(current));
    try {
      target.check(input);
    } catch (error) {
      const failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      save(target.fixtures, { seed: current, failure: failure.slice(0, 500), input });
      throw new Error(
        `fuzz case ${index} of run seed ${seed} (case seed ${current}) broke an invariant: ${failure}\n` +
          `input: ${JSON.stringify(input).slice(0, 2000)}\nsaved as a regression case in ${target.fixtures}; commit it with the fix`,
        { cause: error },
      );
    }
  }
  return runs;
}

function save<T>(file: string, regression: Regression<T>): void {
  const cases = regressions<T>(file);
  const text = JSON.stringify(regression.input);
  if (cases.some((known) => JSON.stringify(known.input) === text)) return;
  writeFileSync(file, `${JSON.stringify({ cases: [...cases, regression] }, null, 2)}\n`);
}
