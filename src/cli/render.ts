import type { BatchReport, TaskOutcome } from '../batch/results.js';
import type { SandboxInfo } from '../engine/service.js';
import { formatUsd } from '../money.js';
import { renderTable } from './output.js';

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** `8m`, `2h05m`, like the seed's UPTIME column. */
export function formatUptime(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function formatChanges(changes: TaskOutcome['changes']): string {
  if (!changes || changes.files === 0) return '-';
  return `${changes.files} file${changes.files === 1 ? '' : 's'} +${changes.insertions} -${changes.deletions}`;
}

function clipCell(text: string, width: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

export function batchTable(report: BatchReport): string {
  const rows = report.results.map((result) => [
    result.id ?? '-',
    clipCell(result.task, 40),
    result.status === 'killed' ? 'killed ← budget hit' : result.status,
    formatUsd(result.cost.total),
    formatUsd(result.budget),
    formatDuration(result.duration_s),
    formatChanges(result.changes),
  ]);
  const table = renderTable(['ID', 'TASK', 'STATUS', 'COST', 'BUDGET', 'DURATION', 'CHANGES'], rows);
  const { totals } = report;
  const summary = [`${totals.completed} completed`, totals.killed && `${totals.killed} killed`, totals.failed && `${totals.failed} failed`, totals.timed_out && `${totals.timed_out} timed out`, totals.cancelled && `${totals.cancelled} cancelled`]
    .filter(Boolean)
    .join(', ');
  return `${table}\n\nTotal: ${formatUsd(totals.cost.total)} of ${formatUsd(totals.budget)} budgeted (LLM ${formatUsd(totals.cost.llm)}, compute ${formatUsd(totals.cost.compute)}) — ${totals.tasks} task${totals.tasks === 1 ? '' : 's'}: ${summary}`;
}

export function uptimeSeconds(info: SandboxInfo, now = Date.now()): number {
  const start = Date.parse(info.started_at ?? info.created_at);
  const end = info.ended_at ? Date.parse(info.ended_at) : now;
  return Math.max(0, (end - start) / 1000);
}

/** The seed's `caged list`: ID TEMPLATE STATUS COST BUDGET UPTIME. */
export function sandboxTable(sandboxes: SandboxInfo[], now = Date.now()): string {
  const rows = sandboxes.map((info) => [
    info.id,
    info.template,
    info.status,
    formatUsd(info.cost.total),
    formatUsd(info.budget),
    formatUptime(uptimeSeconds(info, now)) + (info.status === 'killed' ? ' ← budget hit' : ''),
  ]);
  return renderTable(['ID', 'TEMPLATE', 'STATUS', 'COST', 'BUDGET', 'UPTIME'], rows);
}
