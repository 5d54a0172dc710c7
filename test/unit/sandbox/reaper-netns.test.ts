import { describe, expect, it } from 'vitest';
import { hasDefaultRoute, internalNetworksRouteOut } from '../../../src/sandbox/netns-holder.js';
import { reapReason } from '../../../src/sandbox/reaper.js';
import type { ManagedResource } from '../../../src/sandbox/types.js';
import type { Liveness } from '../../../src/sandbox/owner.js';

describe('reapReason', () => {
  const now = new Date('2026-11-27T12:00:00Z');
  const resource = (owner: string, expiresAt?: string): ManagedResource => ({
    kind: 'container',
    dockerId: 'x',
    sandboxId: 'cage-0123abcd',
    owner,
    labels: {},
    ...(expiresAt ? { expiresAt: new Date(expiresAt) } : {}),
  });
  const liveness: Record<string, Liveness> = { me: 'alive', dead: 'gone', remote: 'unknown' };
  const context = (all = false) => ({ all, now, liveness: (owner: string) => liveness[owner] ?? 'gone' });

  it('keeps live and unknown owners until they expire', () => {
    expect(reapReason(resource('me', '2026-11-27T13:00:00Z'), context())).toBeUndefined();
    expect(reapReason(resource('remote', '2026-11-27T13:00:00Z'), context())).toBeUndefined();
    expect(reapReason(resource('remote'), context())).toBeUndefined();
  });

  it('takes the expired, the orphaned, and with all everything', () => {
    expect(reapReason(resource('me', '2026-11-27T12:00:00Z'), context())).toBe('expired');
    expect(reapReason(resource('remote', '2026-11-27T11:00:00Z'), context())).toBe('expired');
    expect(reapReason(resource('dead', '2026-11-27T13:00:00Z'), context())).toBe('owner_gone');
    expect(reapReason(resource('me', '2026-11-27T13:00:00Z'), context(true))).toBe('all');
  });

  it('keeps a sandbox kept on purpose after its controller is gone, until it expires', () => {
    const kept = (expiresAt: string): ManagedResource => ({ ...resource('dead', expiresAt), labels: { 'dev.caged.keep': 'true' } });
    expect(reapReason(kept('2026-11-28T12:00:00Z'), context())).toBeUndefined();
    expect(reapReason(kept('2026-11-27T11:00:00Z'), context())).toBe('expired');
    expect(reapReason(kept('2026-11-28T12:00:00Z'), context(true))).toBe('all');
  });

  it("leaves another state directory's orphans to that directory's controllers, but not past their expiry", () => {
    const from = (root: string | undefined, expiresAt: string): ManagedResource => ({
      ...resource('dead', expiresAt),
      labels: root ? { 'dev.caged.workspaces': root } : {},
    });
    const mine = { ...context(), workspaceRoot: '/home/a/.local/state/caged/workspaces' };
    expect(reapReason(from('/home/a/.local/state/caged/workspaces', '2026-11-27T13:00:00Z'), mine)).toBe('owner_gone');
    expect(reapReason(from('/tmp/ci-state/workspaces', '2026-11-27T13:00:00Z'), mine)).toBeUndefined();
    expect(reapReason(from('/tmp/ci-state/workspaces', '2026-11-27T11:00:00Z'), mine)).toBe('expired');
    expect(reapReason(from(undefined, '2026-11-27T13:00:00Z'), mine)).toBe('owner_gone');
    expect(reapReason(from('/tmp/ci-state/workspaces', '2026-11-27T13:00:00Z'), context())).toBe('owner_gone');
  });
});

describe('netns holder', () => {
  it('is needed before Docker 25 (API 1.44) only', () => {
    expect(internalNetworksRouteOut('1.41')).toBe(true);
    expect(internalNetworksRouteOut('1.43')).toBe(true);
    expect(internalNetworksRouteOut('1.44')).toBe(false);
    expect(internalNetworksRouteOut('1.51')).toBe(false);
    expect(internalNetworksRouteOut('2.0')).toBe(false);
  });

  it('finds a default route in /proc/net/route', () => {
    const header = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT';
    const subnet = 'eth0\t000015AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0';
    const gateway = 'eth0\t00000000\t010015AC\t0003\t0\t0\t0\t00000000\t0\t0\t0';
    expect(hasDefaultRoute([header, gateway, subnet, ''].join('\n'))).toBe(true);
    expect(hasDefaultRoute([header, subnet, ''].join('\n'))).toBe(false);
    expect(hasDefaultRoute(`${header}\n`)).toBe(false);
  });
});
