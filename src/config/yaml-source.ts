import { isMap, isPair, isScalar, LineCounter, parseDocument, visit, type Alias, type Document, type Node } from 'yaml';
import type { Locate, Path } from './issues.js';
import { InputError, type Problem } from './problems.js';

/** A parsed YAML (or JSON) text that can say where any path of it is. */
export interface YamlSource {
  file: string;
  value: unknown;
  locate: Locate;
}

const YAML_HINTS: Record<string, string> = {
  TAB_AS_INDENT: 'tabs are not allowed for indentation in YAML; use spaces',
  DUPLICATE_KEY: 'duplicate key: each key may appear only once',
};

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const problems: Problem[] = [];
  for (const error of doc.errors) {
    const [start] = error.pos;
    const { line, col } = lineCounter.linePos(start);
    const firstLine = error.message.split('\n')[0] ?? error.message;
    const message = YAML_HINTS[error.code] ?? firstLine.replace(/ at line \d+, column \d+.*$/, '');
    problems.push({ file, line, col, location: `${file}:${line}:${col}`, message: `YAML: ${message}` });
  }
  if (problems.length > 0) throw new InputError(dedupe(problems));
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new InputError([{ file, line: 1, col: 1, location: `${file}:1:1`, message: 'the file is empty' }]);
  }
  return { file, value: toJs(doc, lineCounter, file), locate: locator(doc, lineCounter, file) };
}

/** Aliases are resolved only here: one without its anchor, or too many of them, is bad input too. */
function toJs(doc: Document, lineCounter: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    let culprit: Alias | undefined;
    visit(doc, {
      Alias(_key, alias) {
        culprit ??= alias;
        if (alias.resolve(doc) !== undefined) return undefined;
        culprit = alias;
        return visit.BREAK;
      },
    });
    const { line, col } = lineCounter.linePos(culprit?.range?.[0] ?? 0);
    throw new InputError([{ file, line, col, location: `${file}:${line}:${col}`, message: `YAML: ${(error as Error).message}` }]);
  }
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.location} ${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function locator(doc: Document, lineCounter: LineCounter, file: string): Locate {
  return (path: Path, options) => {
    const offset = offsetOf(doc, path, options?.key) ?? offsetOf(doc, path.slice(0, -1)) ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col, location: `${file}:${line}:${col}` };
  };
}

/** Offset of the value at `path`; for an unknown key, the offset of the key itself. */
function offsetOf(doc: Document, path: Path, key?: string): number | undefined {
  if (key !== undefined) {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === key);
      const keyNode = pair?.key as Node | undefined;
      if (keyNode?.range) return keyNode.range[0];
    }
  }
  const node = (path.length === 0 ? doc.contents : doc.getIn(path, true)) as Node | undefined | null;
  return node && typeof node === 'object' && 'range' in node && node.range ? node.range[0] : undefined;
}
