import { describe, expect, it } from 'vitest';
import { parseNumstat } from '../../../src/sandbox/numstat.js';

describe('parseNumstat', () => {
  it('reads text and binary files and sums the lines', () => {
    expect(parseNumstat('3\t1\ta.txt\0-\t-\tlogo.png\0' + '0\t12\tgone.txt\0')).toEqual({
      files: [
        { path: 'a.txt', insertions: 3, deletions: 1 },
        { path: 'logo.png', insertions: null, deletions: null },
        { path: 'gone.txt', insertions: 0, deletions: 12 },
      ],
      insertions: 3,
      deletions: 13,
    });
  });

  it('keeps names with tabs, newlines, quotes and non-ASCII intact', () => {
    const names = ['dir with space/tab\there.txt', 'new\nline', '"quoted"', 'ünïcødé/日本.md'];
    const output = names.map((name) => `1\t0\t${name}\0`).join('');
    expect(parseNumstat(output).files.map((file) => file.path)).toEqual(names);
  });

  it('reads nothing from an empty diff', () => {
    expect(parseNumstat('')).toEqual({ files: [], insertions: 0, deletions: 0 });
  });

  it('refuses output it does not understand', () => {
    expect(() => parseNumstat('3 1 a.txt\0')).toThrow('unexpected git numstat record');
  });
});
