import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { MoneyError, parseUsd } from '../money.js';
import { validateSource } from './load.js';
import { InputError, type Problem } from './problems.js';
import { resolveRepo } from '../sandbox/repo-source.js';
import { taskSchema, type TaskInput } from './schema.js';
import { parseYamlSource } from './yaml-source.js';

const taskListSchema = z.array(taskSchema, { error: 'a task list is a list of tasks ({repo, prompt, budget})' }).min(1, {
  error: 'the task list is empty',
});
const taskFileSchema = z.union([taskListSchema, z.strictObject({ tasks: taskListSchema })]);

/**
 * A task list is YAML or JSON (a list of `{repo, prompt, budget?, ...}`, or `{tasks: [...]}`),
 * or the compact line form `repo|prompt|budget`, one task per line, `#` comments.
 */
export function parseTasksText(text: string, file: string): TaskInput[] {
  if (looksLikeLineForm(text)) return parseLineForm(text, file);
  const source = parseYamlSource(text, file);
  const value = source.value;
  const isList = Array.isArray(value) || (typeof value === 'object' && value !== null && 'tasks' in value);
  if (!isList) {
    throw InputError.at(`${file}:1:1`, 'a task list is a YAML/JSON list of {repo, prompt, budget} or lines of repo|prompt|budget');
  }
  const parsed = validateSource(Array.isArray(value) ? taskListSchema : taskFileSchema, source);
  return Array.isArray(parsed) ? parsed : parsed.tasks;
}

export async function loadTasksFile(file: string): Promise<TaskInput[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw InputError.at(file, `cannot read the task list: ${(error as Error).message}`);
  }
  return parseTasksText(text, file);
}

function meaningfulLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

function looksLikeLineForm(text: string): boolean {
  const lines = meaningfulLines(text);
  if (lines.length === 0) return false;
  const first = lines[0]!.trim();
  if (/^[-[{]/.test(first) || /^[A-Za-z_"']+\s*:(\s|$)/.test(first)) return false;
  return first.includes('|');
}

/** `repo|prompt|budget`: repo may be empty (the current workspace), budget may be left out. */
export function parseLineForm(text: string, file: string): TaskInput[] {
  const tasks: TaskInput[] = [];
  const problems: Problem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '' || raw.trim().startsWith('#')) return;
    const fields = raw.split('|');
    const at = (fieldIndex: number): number => {
      let col = 1;
      for (let i = 0; i < fieldIndex; i += 1) col += fields[i]!.length + 1;
      const leading = (fields[fieldIndex] ?? '').length - (fields[fieldIndex] ?? '').trimStart().length;
      return col + leading;
    };
    const problem = (col: number, message: string) => problems.push({ file, line, col, location: `${file}:${line}:${col}`, message });
    if (fields.length < 2 || fields.length > 3) {
      problem(1, `expected repo|prompt|budget, found ${fields.length} field${fields.length === 1 ? '' : 's'}`);
      return;
    }
    const [repo, prompt, budget] = fields.map((field) => field.trim());
    if (!prompt) {
      problem(at(1), 'the prompt (second field) is empty');
      return;
    }
    const task: TaskInput = { prompt };
    if (repo) {
      try {
        resolveRepo(repo);
      } catch (error) {
        problem(at(0), (error as Error).message);
        return;
      }
      task.repo = repo;
    }
    if (budget !== undefined && budget !== '') {
      try {
        const micros = parseUsd(budget);
        if (micros <= 0) throw new MoneyError('budget must be more than $0');
        task.budget = micros;
      } catch (error) {
        problem(at(2), `budget: ${(error as Error).message}`);
        return;
      }
    }
    tasks.push(task);
  });
  if (problems.length > 0) throw new InputError(problems);
  if (tasks.length === 0) throw InputError.at(`${file}:1:1`, 'the task list is empty');
  return tasks;
}

/** A short, stable name for reports: the task's own name or the prompt's first words. */
export function taskName(task: Pick<TaskInput, 'name' | 'prompt'>): string {
  if (task.name) return task.name;
  const firstLine = task.prompt.split('\n')[0]!.trim();
  return firstLine.length > 60 ? `${firstLine.slice(0, 57)}...` : firstLine;
}
