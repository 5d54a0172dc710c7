/** Exit codes of every caged command; documented in `caged --help` and the README. */
export const EXIT = {
  ok: 0,
  failure: 1,
  badInput: 2,
  budget: 3,
  timedOut: 4,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  all tasks completed (or the command succeeded)
  1  a task failed, was cancelled, or caged itself failed
  2  bad input (config, task list, flags); nothing was started
  3  a budget was hit (a sandbox was killed) and fail_on includes budget
  4  a task timed out (idle timeout or max_duration)`;
