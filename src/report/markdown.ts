import { clip } from '../agents/lines.js';
import type { BatchReport, TaskOutcome } from '../batch/results.js';
import { formatChanges, formatDuration } from '../cli/render.js';
import { formatUsd } from '../money.js';
import type { SandboxStatus } from '../sandbox/types.js';

/**
 * The batch report as GitHub-flavoured markdown, for the job summary and the PR comment.
 * Everything that came from a user or an agent (task names, prompts, repos, final messages,
 * reasons) is escaped here: GitHub renders HTML in both places and `core.summary` escapes nothing.
 */

export interface ReportView {
  report: BatchReport;
  heading: string;
  /** Link to the workflow run. */
  runUrl?: string;
  /** Plain-text lines shown under the heading (escaped here). */
  notes?: string[];
  /** Plain-text delivery result per task index (escaped here). */
  deliveries?: ReadonlyMap<number, string>;
}

export interface RenderOptions {
  /** Hard cap, measured by `measure` (summary: bytes; comment: characters). */
  limit: number;
  measure?: (text: string) => number;
  /** Placed first, verbatim (the sticky comment's hidden marker). */
  prefix?: string;
}

const ICONS: Record<SandboxStatus, string> = {
  creating: '⏳',
  running: '🔄',
  completed: '✅',
  failed: '❌',
  killed: '💸',
  timed_out: '⏱️',
  cancelled: '⏹️',
  destroyed: '⏹️',
};

const STATUS_TEXT: Partial<Record<SandboxStatus, string>> = { killed: 'killed (budget hit)', timed_out: 'timed out' };

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

/**
 * One line of user text that stays literal in markdown and in a table cell: HTML and markdown
 * punctuation escaped, newlines folded, and `@name` kept from pinging anyone.
 */
export function inlineText(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  // `$` too: GitHub renders $…$ as math.
  const markdown = line.replace(/[\\`*_{}[\]()#+\-.!|~$]/g, (char) => `\\${char}`);
  return escapeHtml(markdown).replace(/@/g, '@\u200b');
}

/** Multi-line user text shown verbatim: an HTML block is not parsed as markdown, and escaping keeps it one block. */
export function preformatted(text: string): string {
  return `<pre>${escapeHtml(text).replace(/@/g, '@\u200b')}</pre>`;
}

/** `▓▓▓░░░░░░░ 31%`; over the budget it is full and says so. */
export function proportionBar(cost: number, budget: number, width = 10): string {
  if (budget <= 0) return '';
  const ratio = cost / budget;
  const filled = Math.min(width, Math.round(ratio * width));
  const percent = Math.round(ratio * 100);
  return `${'▓'.repeat(filled)}${'░'.repeat(width - filled)} ${percent}%${ratio > 1 ? ' ⚠️' : ''}`;
}

function statusCell(status: SandboxStatus): string {
  return `${ICONS[status]} ${STATUS_TEXT[status] ?? status}`;
}

function compactCount(value: number): string {
  if (value < 1000) return String(value);
  if (value < 1_000_000) return `${(value / 1000).toFixed(value < 10_000 ? 1 : 0)}k`;
  return `${(value / 1_000_000).toFixed(1)}M`;
}

function tokensCell(outcome: TaskOutcome): string {
  const input = outcome.tokens.input + outcome.tokens.cache_read + outcome.tokens.cache_write;
  if (input === 0 && outcome.tokens.output === 0) return '-';
  return `${compactCount(input)} in / ${compactCount(outcome.tokens.output)} out`;
}

function row(outcome: TaskOutcome): string {
  const cells = [
    String(outcome.index + 1),
    inlineText(clip(outcome.task, 80)),
    outcome.repo ? inlineText(clip(outcome.repo, 60)) : '_workspace_',
    statusCell(outcome.status),
    `${formatUsd(outcome.cost.total)} / ${formatUsd(outcome.budget)} ${proportionBar(outcome.cost.total, outcome.budget)}`,
    tokensCell(outcome),
    formatDuration(outcome.duration_s),
    formatChanges(outcome.changes),
  ];
  return `| ${cells.join(' | ')} |`;
}

const TABLE_HEAD = '| # | Task | Repo | Status | Cost / budget | Tokens | Duration | Changes |\n|---:|---|---|---|---|---|---:|---|';

function countsPhrase(report: BatchReport): string {
  const { totals } = report;
  const parts = [
    `${totals.completed} completed`,
    totals.killed ? `${totals.killed} killed by budget` : '',
    totals.failed ? `${totals.failed} failed` : '',
    totals.timed_out ? `${totals.timed_out} timed out` : '',
    totals.cancelled ? `${totals.cancelled} cancelled` : '',
  ].filter(Boolean);
  return `${totals.tasks} task${totals.tasks === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

function totalsLine(report: BatchReport): string {
  const { totals } = report;
  return (
    `**Total: ${formatUsd(totals.cost.total)}** of ${formatUsd(totals.budget)} budgeted ` +
    `(LLM ${formatUsd(totals.cost.llm)}, compute ${formatUsd(totals.cost.compute)}) — ${countsPhrase(report)}`
  );
}

const CHART_MAX_TASKS = 40;

/** Mermaid bar chart of cost against budget. Labels are task numbers only: user text never enters Mermaid. */
export function costChart(results: TaskOutcome[]): string {
  if (results.length === 0) return '';
  const shown = results.slice(0, CHART_MAX_TASKS);
  const usd = (micros: number) => String(Math.round(micros) / 1_000_000);
  const top = Math.max(...shown.map((result) => Math.max(result.budget, result.cost.total)), 1);
  const lines = [
    '```mermaid',
    'xychart-beta',
    `  title "Cost vs budget (USD)${results.length > shown.length ? `, first ${shown.length} tasks` : ''}"`,
    `  x-axis [${shown.map((result) => `"#${result.index + 1}"`).join(', ')}]`,
    `  y-axis "USD" 0 --> ${usd(top)}`,
    `  bar [${shown.map((result) => usd(result.budget)).join(', ')}]`,
    `  bar [${shown.map((result) => usd(result.cost.total)).join(', ')}]`,
    '```',
  ];
  return `${lines.join('\n')}\n<sub>Each task's budget bar, with its cost drawn over it.</sub>`;
}

function details(outcome: TaskOutcome, messageChars: number, delivery: string | undefined): string {
  const summary = `#${outcome.index + 1} ${inlineText(clip(outcome.task, 100))} — ${statusCell(outcome.status)}`;
  const body: string[] = [];
  if (outcome.reason) body.push(`**Reason:** ${inlineText(clip(outcome.reason, 500))}`);
  if (delivery) body.push(`**Changes:** ${inlineText(delivery)}`);
  if (outcome.prompt !== outcome.task) body.push(`**Prompt:**\n\n${preformatted(clip(outcome.prompt, Math.max(200, messageChars / 4)))}`);
  if (outcome.final_message && messageChars > 0) body.push(`**Final message:**\n\n${preformatted(clip(outcome.final_message, messageChars))}`);
  else if (outcome.final_message) body.push('_Final message left out to fit the size limit._');
  if (body.length === 0) body.push('_No final message._');
  return `<details><summary>${summary}</summary>\n\n${body.join('\n\n')}\n\n</details>`;
}

interface Shape {
  rows: number;
  messageChars: number;
  withDetails: boolean;
}

function compose(view: ReportView, options: RenderOptions, shape: Shape): string {
  const { report } = view;
  const parts: string[] = [];
  if (options.prefix) parts.push(options.prefix);
  parts.push(`### ${inlineText(view.heading)}`);
  for (const note of view.notes ?? []) parts.push(`> ${inlineText(note)}`);
  const rows = report.results.slice(0, shape.rows).map(row);
  const missingRows = report.results.length - rows.length;
  parts.push(`${TABLE_HEAD}\n${rows.join('\n')}`);
  if (missingRows > 0) parts.push(`_…and ${missingRows} more task${missingRows === 1 ? '' : 's'}: see the results file._`);
  parts.push(totalsLine(report));
  if (view.deliveries && view.deliveries.size > 0) {
    parts.push([...view.deliveries].map(([index, text]) => `- #${index + 1}: ${inlineText(text)}`).join('\n'));
  }
  if (shape.withDetails) {
    parts.push(costChart(report.results));
    parts.push(report.results.slice(0, shape.rows).map((outcome) => details(outcome, shape.messageChars, view.deliveries?.get(outcome.index))).join('\n'));
  }
  const clipped = report.results.some((outcome) => (outcome.final_message?.length ?? 0) > shape.messageChars);
  if (shape.rows < report.results.length || !shape.withDetails || clipped) {
    parts.push('_Shortened to fit GitHub\'s size limit; the results file (output `results-file`) has every task in full._');
  }
  if (view.runUrl) parts.push(`[Workflow run](${encodeURI(view.runUrl)}) · run id ${inlineText(report.run_id)}`);
  return `${parts.filter(Boolean).join('\n\n')}\n`;
}

const FULL_MESSAGE_CHARS = 4000;
const MESSAGE_STEPS = [FULL_MESSAGE_CHARS, 1000, 250, 0];

/**
 * The report within `options.limit`: final messages are clipped first, then the per-task
 * details and chart go, then table rows; whatever is left out is said so.
 */
export function renderReport(view: ReportView, options: RenderOptions): string {
  const measure = options.measure ?? ((text: string) => text.length);
  const total = view.report.results.length;
  for (const messageChars of MESSAGE_STEPS) {
    const text = compose(view, options, { rows: total, messageChars, withDetails: true });
    if (measure(text) < options.limit) return text;
  }
  let low = 0;
  let high = total;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (measure(compose(view, options, { rows: mid, messageChars: 0, withDetails: false })) < options.limit) low = mid;
    else high = mid - 1;
  }
  const text = compose(view, options, { rows: low, messageChars: 0, withDetails: false });
  if (measure(text) >= options.limit) throw new Error(`the report does not fit in ${options.limit} even without tasks`);
  return text;
}
