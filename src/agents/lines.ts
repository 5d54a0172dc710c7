/** Splits a byte stream into complete lines, keeping a bounded partial line between chunks. */
export class LineSplitter {
  #partial = '';

  constructor(private readonly maxLineLength = 4 * 1024 * 1024) {}

  push(chunk: Buffer | string): string[] {
    const text = this.#partial + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    if (this.#partial.length > this.maxLineLength) this.#partial = this.#partial.slice(-this.maxLineLength);
    return lines.map((line) => line.replace(/\r$/, ''));
  }

  rest(): string {
    return this.#partial;
  }
}

export function tryParseJson(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
