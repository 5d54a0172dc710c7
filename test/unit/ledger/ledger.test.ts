import { describe, expect, it } from 'vitest';
import { Ledger, UnknownSandboxError, type ExceededEvent } from '../../../src/ledger/ledger.js';

function ledgerWith(budget: number): { ledger: Ledger; exceeded: ExceededEvent[] } {
  const ledger = new Ledger();
  const exceeded: ExceededEvent[] = [];
  ledger.on('exceeded', (event) => exceeded.push(event));
  ledger.open('cage-00000001', budget);
  return { ledger, exceeded };
}

describe('Ledger', () => {
  it('holds reservations against the budget and commits actual cost', () => {
    const { ledger } = ledgerWith(1_000_000);
    const hold = ledger.reserve('cage-00000001', 600_000)!;
    expect(ledger.available('cage-00000001')).toBe(400_000);
    expect(ledger.reserve('cage-00000001', 400_001)).toBeUndefined();
    ledger.commit(hold, 123_456, { model: 'm' });
    expect(ledger.snapshot('cage-00000001')).toEqual({ budget: 1_000_000, llm: 123_456, compute: 0, committed: 123_456, reserved: 0, available: 876_544, exceeded: false });
  });

  it('never lets the sum of holds pass the budget, however many callers reserve', () => {
    const { ledger } = ledgerWith(1_000_000);
    const holds = Array.from({ length: 50 }, () => ledger.reserve('cage-00000001', 70_000)).filter((hold) => hold !== undefined);
    expect(holds).toHaveLength(14);
    expect(ledger.snapshot('cage-00000001').reserved).toBe(980_000);
  });

  it('resizes a hold: shrinking always, growing only into what is left', () => {
    const { ledger } = ledgerWith(1_000_000);
    const a = ledger.reserve('cage-00000001', 500_000)!;
    const b = ledger.reserve('cage-00000001', 300_000)!;
    expect(ledger.resize(a, 700_001)).toBeUndefined();
    expect(ledger.snapshot('cage-00000001').reserved).toBe(800_000);
    const grown = ledger.resize(a, 700_000)!;
    expect(grown).toEqual({ key: a.key, sandboxId: 'cage-00000001', amount: 700_000 });
    expect(ledger.available('cage-00000001')).toBe(0);
    const shrunk = ledger.resize(b, 100_000)!;
    expect(shrunk.amount).toBe(100_000);
    expect(ledger.available('cage-00000001')).toBe(200_000);
    ledger.release(shrunk);
    ledger.release(shrunk);
    expect(ledger.snapshot('cage-00000001').reserved).toBe(700_000);
    expect(ledger.resize(shrunk, 1)).toBeUndefined();
  });

  it('lets a hold in flight grow into an overdraft past the budget, never a new hold', () => {
    const { ledger } = ledgerWith(100_000);
    const hold = ledger.reserve('cage-00000001', 100_000)!;
    expect(ledger.reserve('cage-00000001', 1)).toBeUndefined();
    expect(ledger.resize(hold, 105_001, 5_000)).toBeUndefined();
    expect(ledger.resize(hold, 105_000, 5_000)?.amount).toBe(105_000);
    expect(ledger.snapshot('cage-00000001')).toMatchObject({ reserved: 105_000, available: 0 });
  });

  it('emits exceeded exactly once, whether by charges or by the gateway', () => {
    const { ledger, exceeded } = ledgerWith(100);
    ledger.charge('cage-00000001', 'compute', 60);
    ledger.charge('cage-00000001', 'llm', 40);
    ledger.charge('cage-00000001', 'llm', 5);
    ledger.markExceeded('cage-00000001', 'again');
    expect(exceeded).toHaveLength(1);
    expect(exceeded[0]).toMatchObject({ sandboxId: 'cage-00000001', reason: 'budget limit reached', snapshot: { committed: 100, llm: 40, compute: 60, exceeded: true } });
    expect(ledger.reserve('cage-00000001', 0)).toBeUndefined();
  });

  it('marks exceeded on the gateway’s word and then refuses every hold', () => {
    const { ledger, exceeded } = ledgerWith(1_000);
    const hold = ledger.reserve('cage-00000001', 100)!;
    ledger.markExceeded('cage-00000001', 'not even a minimal request fits');
    expect(exceeded[0]?.reason).toBe('not even a minimal request fits');
    expect(ledger.reserve('cage-00000001', 1)).toBeUndefined();
    expect(ledger.resize(hold, 200)).toBeUndefined();
    expect(ledger.resize(hold, 50)?.amount).toBe(50);
  });

  it('reports charges with running totals', () => {
    const { ledger } = ledgerWith(1_000);
    const charges: number[] = [];
    ledger.on('charge', (event) => charges.push(event.committed));
    ledger.charge('cage-00000001', 'compute', 10);
    ledger.charge('cage-00000001', 'llm', 0);
    ledger.commit(ledger.reserve('cage-00000001', 50)!, 20);
    expect(charges).toEqual([10, 30]);
  });

  it('opens with prior spend and is exceeded at once when that already reaches the budget', () => {
    const ledger = new Ledger();
    const exceeded: string[] = [];
    ledger.on('exceeded', (event) => exceeded.push(event.sandboxId));
    ledger.open('cage-00000002', 500, { llm: 200, compute: 300 });
    expect(exceeded).toEqual(['cage-00000002']);
    expect(ledger.snapshot('cage-00000002').available).toBe(0);
  });

  it('rejects fractional or negative money and unknown sandboxes', () => {
    const { ledger } = ledgerWith(1_000);
    expect(() => ledger.reserve('cage-00000001', 0.5)).toThrow(RangeError);
    expect(() => ledger.charge('cage-00000001', 'llm', -1)).toThrow(RangeError);
    expect(() => ledger.charge('cage-ffffffff', 'llm', 1)).toThrow(UnknownSandboxError);
    expect(() => ledger.snapshot('cage-ffffffff')).toThrow(UnknownSandboxError);
  });
});
