import { describe, expect, it } from 'vitest';
import { outcomeFromInfo, totalsOf, type BatchReport, type TaskOutcome } from '../../../src/batch/results.js';
import { costChart, escapeHtml, inlineText, preformatted, proportionBar, renderReport } from '../../../src/report/markdown.js';
import { carriesMarker, COMMENT_LIMIT, commentMarkdown, stickyMarker } from '../../../src/report/pr-comment.js';
import { SUMMARY_LIMIT_BYTES, summaryMarkdown } from '../../../src/report/summary.js';
import type { SandboxStatus } from '../../../src/sandbox/types.js';

function outcome(index: number, overrides: Partial<TaskOutcome> = {}): TaskOutcome {
  return {
    ...outcomeFromInfo({ index, task: `task ${index + 1}`, prompt: `prompt ${index + 1}`, budget: 3_000_000 }, undefined, 65_000, null),
    status: 'completed' as SandboxStatus,
    cost: { llm: 1_000_000, compute: 230_000, total: 1_230_000 },
    tokens: { input: 12_000, output: 3_400, cache_read: 500, cache_write: 0 },
    changes: { files: 3, insertions: 40, deletions: 12, patch_path: null },
    final_message: 'All type errors fixed.',
    ...overrides,
  };
}

function report(results: TaskOutcome[]): BatchReport {
  return { run_id: 'gha-1-1-abcd', started_at: '2026-01-01T00:00:00Z', ended_at: '2026-01-01T00:10:00Z', results, totals: totalsOf(results) };
}

describe('escaping user text', () => {
  it('keeps HTML, markdown, table pipes and mentions literal in one line', () => {
    expect(inlineText('<img src=x onerror=alert(1)> | **bold** [link](http://evil) @octocat $x$\nnext')).toBe(
      '&lt;img src=x onerror=alert\\(1\\)&gt; \\| \\*\\*bold\\*\\* \\[link\\]\\(http://evil\\) @\u200boctocat \\$x\\$ next',
    );
  });

  it('shows multi-line text verbatim in a block that cannot be closed from inside', () => {
    expect(preformatted('a </pre><script>x</script>\n@team')).toBe('<pre>a &lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;\n@\u200bteam</pre>');
    expect(escapeHtml(`"'&`)).toBe('&quot;&#39;&amp;');
  });
});

describe('the report', () => {
  it('has a row per task with status, cost against budget, tokens, duration and changes, then totals', () => {
    const text = renderReport(
      { report: report([outcome(0), outcome(1, { status: 'killed', cost: { llm: 3_000_000, compute: 0, total: 3_000_000 }, changes: null, repo: 'octo/api' })]), heading: 'caged batch' },
      { limit: 100_000 },
    );
    expect(text).toContain('| 1 | task 1 | _workspace_ | ✅ completed | $1.23 / $3.00 ▓▓▓▓░░░░░░ 41% | 13k in / 3.4k out | 1m05s | 3 files +40 -12 |');
    expect(text).toContain('| 2 | task 2 | octo/api | 💸 killed (budget hit) | $3.00 / $3.00 ▓▓▓▓▓▓▓▓▓▓ 100% |');
    expect(text).toContain('**Total: $4.23** of $6.00 budgeted (LLM $4.00, compute $0.23) — 2 tasks: 1 completed, 1 killed by budget');
    expect(text).toContain('<details><summary>#1 task 1 — ✅ completed</summary>');
    expect(text).toContain('<pre>All type errors fixed.</pre>');
    expect(text).not.toContain('Shortened');
  });

  it('draws a bar that says when the budget was overrun', () => {
    expect(proportionBar(0, 1_000_000)).toBe('░░░░░░░░░░ 0%');
    expect(proportionBar(1_050_000, 1_000_000)).toBe('▓▓▓▓▓▓▓▓▓▓ 105% ⚠️');
    expect(proportionBar(5, 0)).toBe('');
  });

  it('charts cost against budget with task numbers only', () => {
    const chart = costChart([outcome(0), outcome(1, { task: '"] injected' })]);
    expect(chart).toContain('xychart-beta');
    expect(chart).toContain('x-axis ["#1", "#2"]');
    expect(chart).toContain('bar [3, 3]');
    expect(chart).toContain('bar [1.23, 1.23]');
    expect(chart).not.toContain('injected');
  });

  it('stays under its limit: messages shrink first, then details go, then rows, and it says so', () => {
    const huge = Array.from({ length: 400 }, (_, index) => outcome(index, { final_message: 'x'.repeat(4000), task: `task ${index + 1} ${'y'.repeat(60)}` }));
    const comment = commentMarkdown({ report: report(huge), heading: 'caged batch' }, stickyMarker('ci', 'agents'));
    expect(comment.length).toBeLessThan(COMMENT_LIMIT);
    expect(comment.startsWith('<!-- caged:ci/agents -->')).toBe(true);
    expect(comment).toContain('more tasks: see the results file');
    expect(comment).toContain('Shortened to fit');
    expect(comment).toContain('**Total:');

    const summary = summaryMarkdown({ report: report(huge), heading: 'caged batch' });
    expect(Buffer.byteLength(summary)).toBeLessThan(SUMMARY_LIMIT_BYTES);
    expect(summary).toContain('| 400 |');
    expect(summary).toContain('<details>');
    expect(summary).toContain('Shortened to fit');
  });

  it('marks sticky comments per workflow and job, immune to names that would close the HTML comment', () => {
    expect(stickyMarker('CI --> <b>', 'job')).toBe('<!-- caged:CI%20--%3E%20%3Cb%3E/job -->');
    expect(carriesMarker('<!-- caged:reply -->\nhello')).toBe(true);
    expect(carriesMarker('/caged run it')).toBe(false);
  });
});
