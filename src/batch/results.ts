import type { FailOn } from '../config/schema.js';
import { toUsd, type Micros } from '../money.js';
import type { CostBreakdown, SandboxInfo, TokenTotals } from '../engine/service.js';
import type { SandboxStatus } from '../sandbox/types.js';

/** One task's outcome, whatever happened to it. Money in micro-dollars until the JSON edge. */
export interface TaskOutcome {
  index: number;
  task: string;
  prompt: string;
  id: string | null;
  repo: string | null;
  status: SandboxStatus;
  reason: string | null;
  exit_code: number | null;
  cost: CostBreakdown;
  budget: Micros;
  tokens: TokenTotals;
  agent_reported_cost: Micros | null;
  duration_s: number;
  changes: { files: number; insertions: number; deletions: number; patch_path: string | null } | null;
  final_message: string | null;
}

export interface BatchTotals {
  tasks: number;
  completed: number;
  failed: number;
  killed: number;
  timed_out: number;
  cancelled: number;
  cost: CostBreakdown;
  budget: Micros;
  tokens: TokenTotals;
}

export interface BatchReport {
  run_id: string;
  started_at: string;
  ended_at: string;
  results: TaskOutcome[];
  totals: BatchTotals;
}

const ZERO_COST: CostBreakdown = { llm: 0, compute: 0, total: 0 };
const ZERO_TOKENS: TokenTotals = { input: 0, output: 0, cache_read: 0, cache_write: 0 };

export function outcomeFromInfo(
  base: { index: number; task: string; prompt: string; repo?: string; budget: Micros },
  info: SandboxInfo | undefined,
  durationMs: number,
  patchPath: string | null,
): TaskOutcome {
  return {
    index: base.index,
    task: base.task,
    prompt: base.prompt,
    id: info?.id ?? null,
    repo: base.repo ?? null,
    status: info?.status === 'destroyed' ? 'cancelled' : (info?.status ?? 'failed'),
    reason: info?.reason ?? null,
    exit_code: info?.exit_code ?? null,
    cost: info?.cost ?? { ...ZERO_COST },
    budget: info?.budget ?? base.budget,
    tokens: info?.tokens ?? { ...ZERO_TOKENS },
    agent_reported_cost: info?.agent_reported_cost ?? null,
    duration_s: Math.round(durationMs / 100) / 10,
    changes: info?.changes ? { ...info.changes, patch_path: patchPath } : null,
    final_message: info?.final_message ?? null,
  };
}

export function totalsOf(results: TaskOutcome[]): BatchTotals {
  const count = (status: SandboxStatus) => results.filter((result) => result.status === status).length;
  return {
    tasks: results.length,
    completed: count('completed'),
    failed: count('failed'),
    killed: count('killed'),
    timed_out: count('timed_out'),
    cancelled: count('cancelled'),
    cost: results.reduce(
      (sum, result) => ({ llm: sum.llm + result.cost.llm, compute: sum.compute + result.cost.compute, total: sum.total + result.cost.total }),
      { ...ZERO_COST },
    ),
    budget: results.reduce((sum, result) => sum + result.budget, 0),
    tokens: results.reduce(
      (sum, result) => ({
        input: sum.input + result.tokens.input,
        output: sum.output + result.tokens.output,
        cache_read: sum.cache_read + result.tokens.cache_read,
        cache_write: sum.cache_write + result.tokens.cache_write,
      }),
      { ...ZERO_TOKENS },
    ),
  };
}

/** 0 all completed; 3 a budget was hit; 4 a timeout; 1 other failures — filtered by fail_on. */
export function exitCodeFor(results: Pick<TaskOutcome, 'status'>[], failOn: FailOn): number {
  if (failOn === 'never') return 0;
  const any = (status: SandboxStatus) => results.some((result) => result.status === status);
  if (any('killed')) return 3;
  if (failOn === 'budget') return 0;
  if (any('timed_out')) return 4;
  if (results.some((result) => result.status !== 'completed')) return 1;
  return 0;
}

function costJson(cost: CostBreakdown) {
  return { llm: toUsd(cost.llm), compute: toUsd(cost.compute), total: toUsd(cost.total) };
}

/** The documented JSON shape: money as USD numbers. */
export function outcomeToJson(outcome: TaskOutcome) {
  return {
    ...outcome,
    cost: costJson(outcome.cost),
    budget: toUsd(outcome.budget),
    agent_reported_cost: outcome.agent_reported_cost === null ? null : toUsd(outcome.agent_reported_cost),
  };
}

export function reportToJson(report: BatchReport) {
  return {
    version: 1,
    run_id: report.run_id,
    started_at: report.started_at,
    ended_at: report.ended_at,
    totals: { ...report.totals, cost: costJson(report.totals.cost), budget: toUsd(report.totals.budget) },
    results: report.results.map(outcomeToJson),
  };
}
