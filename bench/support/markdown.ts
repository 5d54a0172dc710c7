function row(cells: Array<string | number>): string {
  return `| ${cells.map((cell) => String(cell).replaceAll('|', '\\|')).join(' | ')} |`;
}

/** A GitHub-flavoured markdown table. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
}
