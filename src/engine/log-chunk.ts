import { open } from 'node:fs/promises';
import { completeUtf8Length } from '../sandbox/tail.js';
import type { LogChunk } from './service.js';

/**
 * A sandbox's output log from byte `offset` to its current end; no log yet reads as empty. While
 * the sandbox may still write, a character cut at the end waits for the next read; once it has
 * ended, the rest is returned whatever it holds.
 */
export async function readLogChunk(path: string, offset: number, stillWriting: boolean): Promise<LogChunk> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', next: offset };
    throw error;
  }
  try {
    const { size } = await file.stat();
    if (offset >= size) return { text: '', next: offset };
    const bytes = Buffer.alloc(size - offset);
    const { bytesRead } = await file.read(bytes, 0, bytes.length, offset);
    const complete = stillWriting ? completeUtf8Length(bytes.subarray(0, bytesRead)) : bytesRead;
    return { text: bytes.subarray(0, complete).toString('utf8'), next: offset + complete };
  } finally {
    await file.close();
  }
}
