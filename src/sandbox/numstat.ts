import type { ChangedFile } from './types.js';

export interface NumstatSummary {
  files: ChangedFile[];
  insertions: number;
  deletions: number;
}

/**
 * Parses `git diff --numstat -z --no-renames`: records `added\tdeleted\tpath\0`, where binary
 * files show `-\t-`. NUL separators keep any file name intact (tabs, newlines, quotes).
 */
export function parseNumstat(output: string): NumstatSummary {
  const files: ChangedFile[] = [];
  let insertions = 0;
  let deletions = 0;
  for (const record of output.split('\0')) {
    if (!record) continue;
    const match = /^(\d+|-)\t(\d+|-)\t([\s\S]+)$/.exec(record);
    if (!match) throw new Error(`unexpected git numstat record: ${JSON.stringify(record.slice(0, 200))}`);
    const added = match[1] === '-' ? null : Number(match[1]);
    const removed = match[2] === '-' ? null : Number(match[2]);
    files.push({ path: match[3]!, insertions: added, deletions: removed });
    insertions += added ?? 0;
    deletions += removed ?? 0;
  }
  return { files, insertions, deletions };
}
