import type { getOctokit } from '@actions/github';
import { renderReport, type ReportView } from './markdown.js';

export type Octokit = ReturnType<typeof getOctokit>;

/** GitHub's limit for a comment body. */
export const COMMENT_LIMIT = 65_536;

const MARKER_PREFIX = '<!-- caged:';

/**
 * The hidden first line that makes a comment caged's sticky comment for one workflow and job.
 * Names are URI-encoded so that nothing in them can close the HTML comment.
 */
export function stickyMarker(workflow: string, job: string): string {
  return `${MARKER_PREFIX}${encodeURIComponent(workflow)}/${encodeURIComponent(job)} -->`;
}

/** Whether a comment body was written by caged (any workflow or job). */
export function carriesMarker(body: string | null | undefined): boolean {
  return (body ?? '').includes(MARKER_PREFIX);
}

export function commentMarkdown(view: ReportView, marker: string): string {
  return renderReport(view, { limit: COMMENT_LIMIT, prefix: marker });
}

export interface CommentTarget {
  owner: string;
  repo: string;
  issueNumber: number;
  marker: string;
}

export interface CommentResult {
  id: number;
  url: string;
  created: boolean;
}

/**
 * Updates the comment that starts with `target.marker`, else creates one, so that every run
 * of a workflow job keeps to one comment per pull request.
 */
export async function upsertStickyComment(octokit: Octokit, target: CommentTarget, body: string): Promise<CommentResult> {
  const { owner, repo, issueNumber, marker } = target;
  if (!body.startsWith(marker)) throw new Error('a sticky comment body must start with its marker');
  const comments = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: issueNumber, per_page: 100 });
  const existing = comments.find((comment) => (comment.body ?? '').startsWith(marker));
  if (existing) {
    const { data } = await octokit.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body });
    return { id: data.id, url: data.html_url, created: false };
  }
  const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
  return { id: data.id, url: data.html_url, created: true };
}
