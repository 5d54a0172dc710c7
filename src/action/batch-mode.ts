import type { Octokit } from '../report/pr-comment.js';
import type { ActionContext } from './context.js';
import { batchTarget, deliverAll } from './deliveries.js';
import { executeTasks, removeCopies } from './execute.js';
import type { ActionInputs } from './inputs.js';
import { publish, verdict } from './publish.js';
import { planTasks, taskInputs } from './tasks.js';

/** The task list of the `tasks` input (this job's shard of it): run, deliver, publish, then the verdict. */
export async function runBatchMode(inputs: ActionInputs, context: ActionContext, octokit: Octokit | undefined, signal: AbortSignal): Promise<void> {
  const plan = await planTasks(inputs, context, await taskInputs(inputs, context));
  const execution = await executeTasks(inputs, context, plan, signal);
  try {
    const tasks = new Map(plan.all.map((task) => [task.index, task]));
    const deliveries = await deliverAll(inputs, context, octokit, execution, (outcome) =>
      batchTarget(context, tasks.get(outcome.index), execution.copies.get(outcome.index)),
    );
    const sharded = inputs.shard && inputs.shard.total > 1;
    await publish(inputs, context, octokit, {
      view: {
        report: execution.report,
        heading: 'caged batch',
        runUrl: context.runUrl,
        notes: sharded ? [`Shard ${inputs.shard!.index + 1} of ${inputs.shard!.total}: ${plan.selected.length} of ${plan.all.length} tasks.`] : [],
        deliveries,
      },
      shard: inputs.shard,
      tasksTotal: plan.all.length,
    });
  } finally {
    await removeCopies(execution);
  }
  verdict(execution.report, plan.settings.fail_on, execution.cancelled);
}
