import { describe, expect, it } from 'vitest';
import { isSandboxId, networkName, newSandboxId } from '../../../src/sandbox/ids.js';
import { managedResource, microsToUsdLabel, sandboxLabels } from '../../../src/sandbox/labels.js';
import { sandboxImage, templateImage } from '../../../src/sandbox/image.js';
import { LABELS } from '../../../src/sandbox/types.js';

describe('sandbox ids', () => {
  it('are cage- and 8 hex characters, and differ', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newSandboxId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^cage-[0-9a-f]{8}$/);
  });

  it.each(['cage-0123abcd', 'cage-ffffffff'])('accepts %s', (id) => expect(isSandboxId(id)).toBe(true));
  it.each(['cage-0123ABCD', 'cage-123', 'cage-0123abcde', '../cage-0123abcd', 'cage-0123abc/', ''])('rejects %j', (id) =>
    expect(isSandboxId(id)).toBe(false),
  );

  it('names the network after the sandbox', () => expect(networkName('cage-0123abcd')).toBe('cage-0123abcd-net'));
});

describe('images', () => {
  it('maps a template to caged/template:<name>; an explicit image wins', () => {
    expect(templateImage('node-20')).toBe('caged/template:node-20');
    expect(sandboxImage({ template: 'python-312' })).toBe('caged/template:python-312');
    expect(sandboxImage({ template: 'node-20', image: 'ghcr.io/me/img:1' })).toBe('ghcr.io/me/img:1');
  });
});

describe('labels', () => {
  const identity = {
    id: 'cage-0123abcd',
    labels: { [LABELS.run]: 'run-1', [LABELS.managed]: 'false', [LABELS.owner]: 'spoofed', [LABELS.id]: 'cage-ffffffff', [LABELS.workspaces]: '/etc' },
    budgetMicros: 5_250_000,
    expiresAt: new Date('2026-11-27T10:00:00.000Z'),
  };

  it('carries the basics, which extra labels cannot override', () => {
    expect(sandboxLabels(identity, 'host:1:2', '/state/workspaces')).toEqual({
      [LABELS.run]: 'run-1',
      [LABELS.managed]: 'true',
      [LABELS.id]: 'cage-0123abcd',
      [LABELS.owner]: 'host:1:2',
      [LABELS.workspaces]: '/state/workspaces',
      [LABELS.budgetUsd]: '5.25',
      [LABELS.expiresAt]: '2026-11-27T10:00:00.000Z',
    });
  });

  it('leaves the budget out when there is none', () => {
    expect(sandboxLabels({ ...identity, budgetMicros: undefined }, 'o', '/w')).not.toHaveProperty(LABELS.budgetUsd);
  });

  it.each([
    [0, '0'],
    [5_000_000, '5'],
    [250_000, '0.25'],
    [1, '0.000001'],
    [12_345_678, '12.345678'],
  ])('writes %i µ$ as %s USD', (micros, text) => expect(microsToUsdLabel(micros)).toBe(text));

  it('reads managed resources back, and ignores foreign or malformed ones', () => {
    const labels = sandboxLabels(identity, 'host:1:2', '/state/workspaces');
    expect(managedResource('container', 'abc', labels)).toEqual({
      kind: 'container',
      dockerId: 'abc',
      sandboxId: 'cage-0123abcd',
      owner: 'host:1:2',
      expiresAt: new Date('2026-11-27T10:00:00.000Z'),
      labels,
    });
    expect(managedResource('network', 'n', { other: 'x' })).toBeUndefined();
    expect(managedResource('network', 'n', null)).toBeUndefined();
    expect(managedResource('volume', 'v', { [LABELS.managed]: 'true', [LABELS.expiresAt]: 'soon' })).toEqual({
      kind: 'volume',
      dockerId: 'v',
      sandboxId: '',
      owner: '',
      labels: { [LABELS.managed]: 'true', [LABELS.expiresAt]: 'soon' },
    });
  });
});
