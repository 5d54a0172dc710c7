import { stringify } from 'yaml';
import { configFileSchema, taskSchema } from '../../../src/config/schema.js';
import type { Random } from './random.js';
import { randomString, randomValue } from './values.js';

/** Random .caged.yaml texts and task lists: schema-shaped documents, then damaged at the text level. */

const TOKENS = ['&a ', '*a', '*b', '&b ', '!!str ', '!!binary ', '!!js/regexp ', '!foo ', '? ', '- ', ': ', ':', '\t', '#', '"', "'", '{', '}', '[', ']', ',', '| ', '> ', '%YAML 1.1\n', '@', '`', '\n', '\r\n', '\r', '  ', '\uFEFF', '\u0000', '\u2028', 'ü', '𝄞', '<<: ', '---\n', '...\n', '0x1F', '1e999', '.nan', '-.inf', '~', '$', '|', 'null', 'yes'];

/** Text-level damage: YAML's own syntax dropped in anywhere, lines cut, swapped and repeated. */
export function mutate(random: Random, text: string): string {
  let out = text;
  const edits = random.int(0, 4);
  for (let i = 0; i < edits; i += 1) {
    const at = random.int(0, out.length);
    switch (random.int(0, 4)) {
      case 0:
        out = out.slice(0, at) + random.pick(TOKENS) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(Math.min(out.length, at + random.int(1, 12)));
        break;
      case 2: {
        const lines = out.split('\n');
        const line = random.int(0, lines.length - 1);
        lines.splice(random.int(0, lines.length), 0, lines[line]!);
        out = lines.join('\n');
        break;
      }
      case 3: {
        const lines = out.split('\n');
        const a = random.int(0, lines.length - 1);
        const b = random.int(0, lines.length - 1);
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        out = lines.join('\n');
        break;
      }
      default:
        out = out.slice(0, at);
    }
  }
  return out;
}

function serialise(random: Random, value: unknown): string {
  if (random.chance(0.2)) return JSON.stringify(value, null, random.chance(0.5) ? 2 : undefined) ?? '';
  return stringify(value, { collectionStyle: random.pick(['any', 'block', 'flow'] as const), defaultStringType: random.pick(['PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL'] as const) });
}

function randomText(random: Random): string {
  return Array.from({ length: random.int(0, 40) }, () => (random.chance(0.5) ? random.pick(TOKENS) : randomString(random))).join('');
}

export function configText(random: Random): string {
  if (random.chance(0.1)) return randomText(random);
  const layer = randomValue(random, configFileSchema, [], 3);
  const text = serialise(random, random.chance(0.9) && (typeof layer !== 'object' || layer === null) ? { budget: layer } : layer);
  return random.chance(0.7) ? mutate(random, text) : text;
}

export function taskListText(random: Random): string {
  if (random.chance(0.1)) return randomText(random);
  if (random.chance(0.3)) {
    const lines = Array.from({ length: random.int(0, 5) }, () => Array.from({ length: random.int(1, 4) }, () => randomString(random)).join('|'));
    return mutate(random, lines.join(random.pick(['\n', '\r\n'])));
  }
  const tasks = Array.from({ length: random.int(0, 4) }, () => randomValue(random, taskSchema, [], 3));
  const text = serialise(random, random.chance(0.2) ? { tasks } : tasks);
  return random.chance(0.6) ? mutate(random, text) : text;
}
