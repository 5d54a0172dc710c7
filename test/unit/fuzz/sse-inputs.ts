import type { Random } from './random.js';
import { randomNumber, randomString } from './values.js';

/**
 * Random SSE byte streams in the shapes providers send and in shapes they never should: every
 * field kind, all three line endings (mixed), comments, BOMs, invalid UTF-8, provider events
 * with broken usage, unterminated last events, and chunk boundaries anywhere (inside a CRLF or
 * a multi-byte character). Stored as base64 chunks so that a saved case replays byte for byte.
 */
export interface SseInput {
  chunks: string[];
}

const ANTHROPIC_TYPES = ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'ping', 'error'];
const OPENAI_TYPES = ['response.created', 'response.output_text.delta', 'response.reasoning_summary_text.delta', 'response.function_call_arguments.delta', 'response.output_item.done', 'response.completed', 'response.incomplete', 'response.failed', 'error'];
const USAGE_KEYS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'prompt_tokens', 'completion_tokens', '__proto__'];

function tokenCount(random: Random): unknown {
  return random.chance(0.7) ? random.int(0, 200_000) : random.pick([null, -1, 1.5, '12', 1e300, {}, [], true, Number.MAX_SAFE_INTEGER + 2]);
}

function usage(random: Random): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of USAGE_KEYS) if (random.chance(0.6)) out[key] = tokenCount(random);
  if (random.chance(0.3)) out.cache_creation = { ephemeral_5m_input_tokens: tokenCount(random), ephemeral_1h_input_tokens: tokenCount(random) };
  if (random.chance(0.3)) out.input_tokens_details = { cached_tokens: tokenCount(random) };
  if (random.chance(0.2)) out.prompt_tokens_details = random.pick([null, { cached_tokens: tokenCount(random) }]);
  return out;
}

function deltaText(random: Random): unknown {
  return random.chance(0.85) ? randomString(random) : random.pick([null, 42, { text: 'x' }, ['a']]);
}

/** A `data:` payload: mostly provider-shaped JSON, sometimes broken JSON or plain text. */
function payload(random: Random): string {
  const roll = random.next();
  if (roll < 0.08) return '[DONE]';
  if (roll < 0.16) return `{"type": "${random.pick(ANTHROPIC_TYPES)}", oops`;
  if (roll < 0.22) return randomString(random);
  let value: Record<string, unknown>;
  switch (random.int(0, 4)) {
    case 0: {
      const type = random.pick(ANTHROPIC_TYPES);
      value = { type };
      if (type === 'message_start') value.message = random.chance(0.9) ? { id: 'msg_1', usage: usage(random) } : randomString(random);
      if (type === 'message_delta') value.usage = random.chance(0.9) ? usage(random) : null;
      if (type === 'content_block_delta') value.delta = { type: 'text_delta', [random.pick(['text', 'thinking', 'partial_json'])]: deltaText(random) };
      break;
    }
    case 1: {
      const type = random.pick(OPENAI_TYPES);
      value = { type, sequence_number: random.chance(0.8) ? random.int(0, 100) : randomNumber(random) };
      if (type.endsWith('.delta')) value.delta = deltaText(random);
      else value.response = { id: random.chance(0.8) ? 'resp_1' : 7, usage: random.chance(0.8) ? usage(random) : undefined };
      break;
    }
    case 2:
      value = {
        id: 'chatcmpl-1',
        choices: random.chance(0.3) ? [] : [{ delta: { content: deltaText(random), reasoning_content: deltaText(random), tool_calls: [{ function: { arguments: deltaText(random) } }] } }],
        ...(random.chance(0.4) ? { usage: random.chance(0.9) ? usage(random) : 'none' } : {}),
      };
      break;
    case 3:
      value = { error: { type: 'overloaded_error', message: randomString(random) } };
      break;
    default:
      value = { type: randomString(random), data: randomString(random) };
  }
  const text = JSON.stringify(value);
  // Providers send one line of JSON; a pretty-printed event spreads it over several data: lines.
  return random.chance(0.1) ? JSON.stringify(value, null, 1) : text;
}

function randomBytes(random: Random): Buffer {
  return Buffer.from(Array.from({ length: random.int(1, 6) }, () => random.pick([0x00, 0x0d, 0x0a, 0x3a, 0x20, 0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff, 0xfe, 0xef, 0xbb, random.int(0, 255)])));
}

function line(random: Random): Buffer {
  const roll = random.next();
  if (roll < 0.35) {
    const data = payload(random);
    return Buffer.from(data.split('\n').map((part) => `data:${random.chance(0.9) ? ' ' : ''}${part}`).join('\n'));
  }
  if (roll < 0.55) return Buffer.from(`event:${random.chance(0.9) ? ' ' : ''}${random.chance(0.8) ? random.pick([...ANTHROPIC_TYPES, ...OPENAI_TYPES]) : randomString(random)}`);
  if (roll < 0.7) return Buffer.alloc(0);
  if (roll < 0.75) return Buffer.from(`:${randomString(random)}`);
  if (roll < 0.85) return Buffer.from(random.pick(['id: 7', 'retry: 1000', 'data', 'event', 'data:', ' data: x', 'DATA: x', 'foo: bar', 'data: \u2028', 'data:: x', '\uFEFFdata: y']));
  return randomBytes(random);
}

const ENDINGS = ['\n', '\r\n', '\r'];

export function sseInput(random: Random): SseInput {
  const style = random.chance(0.6) ? random.pick(ENDINGS) : undefined;
  const parts: Buffer[] = [];
  if (random.chance(0.05)) parts.push(Buffer.from(random.chance(0.5) ? '\uFEFF' : '\uFEFF\uFEFF'));
  const lines = random.int(0, 30);
  for (let i = 0; i < lines; i += 1) parts.push(line(random), Buffer.from(style ?? random.pick(ENDINGS)));
  if (random.chance(0.2)) parts.push(line(random));
  const bytes = Buffer.concat(parts);
  const chunks: string[] = [];
  let at = 0;
  const oneByte = random.chance(0.05);
  while (at < bytes.length) {
    const size = oneByte ? 1 : random.chance(0.05) ? 0 : random.int(1, Math.max(1, random.chance(0.5) ? 8 : bytes.length));
    chunks.push(bytes.subarray(at, at + size).toString('base64'));
    at += size;
  }
  return { chunks };
}

export function chunksOf(input: SseInput): Buffer[] {
  return input.chunks.map((chunk) => Buffer.from(chunk, 'base64'));
}
