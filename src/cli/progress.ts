import type { BatchEvent } from '../batch/run-batch.js';
import type { EngineEvent } from '../engine/service.js';
import { formatUsd } from '../money.js';
import type { Io } from './output.js';
import { formatChanges, formatDuration } from './render.js';

interface Row {
  label: string;
  id?: string;
  status: string;
  cost: number;
  budget: number;
  startedAt?: number;
  endedAt?: number;
  note: string;
}

/**
 * Live batch progress: one updating line per task on an interactive terminal, plain event
 * lines otherwise (pipes, CI logs), so nothing is lost either way.
 */
export class BatchProgress {
  readonly #rows = new Map<number, Row>();
  readonly #byId = new Map<string, number>();
  readonly #interactive: boolean;
  #drawnLines = 0;
  #timer?: NodeJS.Timeout;

  constructor(private readonly io: Io) {
    this.#interactive = Boolean(io.stderr.isTTY) && !io.env.CI;
    if (this.#interactive) {
      this.#timer = setInterval(() => this.#draw(), 250);
      this.#timer.unref();
    }
  }

  onBatch(event: BatchEvent): void {
    const index = event.task.index;
    if (event.type === 'queued') {
      this.#rows.set(index, { label: event.task.name, status: 'queued', cost: 0, budget: event.task.config.budget ?? 0, note: '' });
      return;
    }
    const row = this.#rows.get(index);
    if (!row) return;
    if (event.type === 'started') {
      row.id = event.sandbox.id;
      row.status = event.sandbox.status;
      row.startedAt = Date.now();
      this.#byId.set(event.sandbox.id, index);
      this.#line(`${event.sandbox.id} started: ${row.label} (budget ${formatUsd(row.budget)})`);
    } else {
      const { outcome } = event;
      row.status = outcome.status;
      row.endedAt = Date.now();
      row.cost = outcome.cost.total;
      row.note = outcome.reason ?? formatChanges(outcome.changes);
      this.#line(
        `${outcome.id ?? `task ${index + 1}`} ${outcome.status}: ${row.label} — ${formatUsd(outcome.cost.total)}/${formatUsd(outcome.budget)} in ${formatDuration(outcome.duration_s)}` +
          (outcome.reason ? ` (${outcome.reason})` : outcome.changes ? ` (${formatChanges(outcome.changes)})` : ''),
      );
    }
    this.#draw();
  }

  onEngine(event: EngineEvent): void {
    if (event.type === 'cost') {
      const row = this.#row(event.id);
      if (row) row.cost = event.cost.total;
    } else if (event.type === 'status') {
      const row = this.#row(event.id);
      if (row) row.status = event.status;
    } else if (event.type === 'progress') {
      const row = this.#row(event.id);
      if (row && !row.endedAt) row.note = event.text;
    }
  }

  /** Free text from the engine (WARN lines) lands above the live block. */
  log(line: string): void {
    if (this.#interactive) this.#clear();
    this.io.stderr.write(`${line}\n`);
    if (this.#interactive) this.#draw();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#interactive) this.#draw();
  }

  #row(id: string): Row | undefined {
    const index = this.#byId.get(id);
    return index === undefined ? undefined : this.#rows.get(index);
  }

  #line(text: string): void {
    if (!this.#interactive) this.io.stderr.write(`${text}\n`);
  }

  #clear(): void {
    if (this.#drawnLines > 0) this.io.stderr.write(`\x1b[${this.#drawnLines}A\x1b[0J`);
    this.#drawnLines = 0;
  }

  #draw(): void {
    if (!this.#interactive) return;
    this.#clear();
    const now = Date.now();
    const lines = [...this.#rows.values()].map((row) => {
      const elapsed = row.startedAt ? formatDuration(((row.endedAt ?? now) - row.startedAt) / 1000) : '';
      return [row.id ?? '-'.padEnd(13), row.label.slice(0, 36).padEnd(36), row.status.padEnd(10), `${formatUsd(row.cost)}/${formatUsd(row.budget)}`.padEnd(16), elapsed.padEnd(7), row.note].join(' ').trimEnd();
    });
    this.io.stderr.write(`${lines.join('\n')}\n`);
    this.#drawnLines = lines.length;
  }
}
