import type { z } from 'zod';
import { suggest, type Problem } from './problems.js';

export type Path = Array<string | number>;

/** Where a path lies in the user's input: `file:line:col` or a JSON path. */
export type Locate = (path: Path, options?: { key?: string }) => Omit<Problem, 'message'>;

/** Turns zod issues into problems a user can act on: missing keys, unknown keys with a hint. */
export function issuesToProblems(schema: z.ZodType, input: unknown, issues: readonly z.core.$ZodIssue[], locate: Locate): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, path);
      for (const key of issue.keys) {
        const hint = suggest(key, known);
        const where = locate([...path, key], { key });
        problems.push({
          ...where,
          path: [...path, key],
          message: `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}${known.length > 0 && !hint ? `; known keys: ${known.join(', ')}` : ''}`,
        });
      }
      continue;
    }
    if (issue.code === 'invalid_key') {
      const key = String(path[path.length - 1]);
      const inner = issue.issues[0]?.message ?? issue.message;
      problems.push({ ...locate(path, { key }), path, message: `${dotted(path.slice(0, -1))}: "${key}" ${inner.replace(/^must be/, 'is not valid: must be')}` });
      continue;
    }
    const field = path.length > 0 ? String(path[path.length - 1]) : 'value';
    const missing = path.length > 0 && valueAt(input, path) === undefined;
    if (missing && issue.code === 'invalid_type') {
      problems.push({ ...locate(path.slice(0, -1)), path, message: `missing required key "${field}"` });
      continue;
    }
    const message = issue.message.startsWith('Invalid input') && issue.code !== 'custom' ? describe(field, issue) : issue.message;
    problems.push({ ...locate(path), path, message: prefixField(field, message, path) });
  }
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

function dotted(path: Path): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}

function prefixField(field: string, message: string, path: Path): string {
  if (path.length === 0) return message;
  return message.toLowerCase().startsWith(field.toLowerCase()) ? message : `${dotted(path)}: ${message}`;
}

function describe(field: string, issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `${field} must be ${article(issue.expected)}`;
  return issue.message;
}

function article(expected: string): string {
  if (expected === 'object') return 'a map of key: value';
  if (expected === 'array') return 'a list';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function valueAt(input: unknown, path: Path): unknown {
  let current: unknown = input;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}

interface ZodDefLike {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
}

function defOf(schema: z.ZodType): ZodDefLike {
  return (schema as unknown as { _zod: { def: ZodDefLike } })._zod.def;
}

/** Object keys a schema accepts at `path`, for "did you mean" hints. */
export function keysAt(schema: z.ZodType, path: Path): string[] {
  const found = new Set<string>();
  const visit = (node: z.ZodType, rest: Path): void => {
    const def = defOf(node);
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'nullable':
      case 'readonly':
        if (def.innerType) visit(def.innerType, rest);
        return;
      case 'pipe':
        if (def.in) visit(def.in, rest);
        return;
      case 'union':
        for (const option of def.options ?? []) visit(option, rest);
        return;
      case 'array':
        if (def.element && typeof rest[0] === 'number') visit(def.element, rest.slice(1));
        return;
      case 'record':
        if (def.valueType && rest.length > 0) visit(def.valueType, rest.slice(1));
        return;
      case 'object': {
        const shape = (node as unknown as { shape: Record<string, z.ZodType> }).shape;
        if (rest.length === 0) {
          for (const key of Object.keys(shape)) found.add(key);
          return;
        }
        const child = shape[String(rest[0])];
        if (child) visit(child, rest.slice(1));
        return;
      }
      default:
        return;
    }
  };
  visit(schema, path);
  return [...found];
}
