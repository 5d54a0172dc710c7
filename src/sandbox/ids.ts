import { randomBytes } from 'node:crypto';
import { SANDBOX_ID_PATTERN } from './types.js';

/** A fresh sandbox id: `cage-` and 8 hex characters (32 random bits). */
export function newSandboxId(): string {
  return `cage-${randomBytes(4).toString('hex')}`;
}

export function isSandboxId(value: string): boolean {
  return SANDBOX_ID_PATTERN.test(value);
}

/** Name of a sandbox's own Docker network. */
export function networkName(id: string): string {
  return `${id}-net`;
}
