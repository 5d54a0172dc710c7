import type { z } from 'zod';
import { keysAt, type Path } from '../../../src/config/issues.js';
import type { Random } from './random.js';

/**
 * Random JSON-shaped values that look like user input: mostly the keys a schema knows (so that the
 * generator reaches deep into it), with values of every type, edge numbers and odd strings.
 * Never produces the words "undefined" or "[object Object]", so that a message containing them
 * points at a formatting bug.
 */

const WORDS = ['claude', 'codex', 'aider', 'node-20', 'python-312', 'gateway', 'allowlist', 'none', 'open', 'budget', 'error', 'never', 'ANTHROPIC_API_KEY', 'github.com', '*.npmjs.org', '10.0.0.0/8', 'https://example.com/hook', 'ftp://x', '5', '$5', '5.00', '$0.0000001', '-1', '1e3', 'owner/repo', 'main', '../etc/passwd', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'dev.caged.run', 'dev.caged.owner', 'a'.repeat(120)];
const ODD = ['', ' ', '\t', '\n', '"', "'", '\\', '\u0000', '\u2028', '\uFEFF', 'ü', '𝄞', '\uD800', '%', '#', ':', '- ', '&a', '*a', '!!str', '{', '}', '[', ']', '|', '>'];
const NUMBERS = [0, -0, 1, -1, 0.5, 2, 64, 1024, 0.1 + 0.2, 5e-7, 1e-12, 1e21, 1.7976931348623157e308, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER, 604800, 604801, 256.0000001];

export function randomString(random: Random): string {
  const parts: string[] = [];
  const count = random.int(0, 4);
  for (let i = 0; i < count; i += 1) parts.push(random.chance(0.5) ? random.pick(WORDS) : random.pick(ODD));
  return parts.join(random.chance(0.3) ? ' ' : '');
}

export function randomNumber(random: Random): number {
  if (random.chance(0.5)) return random.pick(NUMBERS) * (random.chance(0.2) ? -1 : 1);
  return random.chance(0.5) ? random.int(-10, 5000) : Number((random.next() * random.pick([1, 10, 1000, 1e9])).toFixed(random.int(0, 9)));
}

export function randomScalar(random: Random): unknown {
  switch (random.int(0, 5)) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
    case 3:
      return randomNumber(random);
    default:
      return randomString(random);
  }
}

/** A value for `path` in `schema` (undefined: off the schema's map): objects use the schema's keys most of the time. */
export function randomValue(random: Random, schema: z.ZodType | undefined, path: Path, depth: number): unknown {
  const known = schema ? keysAt(schema, path) : [];
  const roll = random.next();
  if (depth <= 0 || roll < 0.45) return randomScalar(random);
  if (roll < 0.6) return Array.from({ length: random.int(0, 4) }, (_, index) => randomValue(random, schema, [...path, index], depth - 1));
  const object: Record<string, unknown> = {};
  const count = random.int(0, known.length > 0 ? Math.min(known.length, 6) : 3);
  for (let i = 0; i < count; i += 1) {
    const key = known.length > 0 && random.chance(0.85) ? random.pick(known) : randomString(random);
    object[key] = randomValue(random, known.includes(key) ? schema : undefined, [...path, key], depth - 1);
  }
  return object;
}
