import * as core from '@actions/core';
import { renderReport, type ReportView } from './markdown.js';

/** GitHub rejects a step summary of 1 MiB or more; the margin leaves room for what other writers add. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 16 * 1024;

export function summaryMarkdown(view: ReportView): string {
  return renderReport(view, { limit: SUMMARY_LIMIT_BYTES, measure: (text) => Buffer.byteLength(text, 'utf8') });
}

/** Appends to this step's summary file (`GITHUB_STEP_SUMMARY`). */
export async function writeJobSummary(markdown: string): Promise<void> {
  await core.summary.addRaw(markdown).write();
}
