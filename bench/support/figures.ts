/**
 * One reported figure: a value measured in this run against its target. `better` says which way
 * the target points; `plan` is what would close the gap, shown only when the target is missed.
 */
export interface Figure {
  id: string;
  label: string;
  value: number;
  unit: string;
  target: number;
  better: 'lower' | 'higher';
  met: boolean;
  /** How the value was obtained, in one line. */
  how: string;
  plan?: string;
}

export function figure(fields: Omit<Figure, 'met' | 'plan'> & { plan: string }): Figure {
  const met = fields.better === 'lower' ? fields.value <= fields.target : fields.value >= fields.target;
  const { plan, ...rest } = fields;
  return { ...rest, met, ...(met ? {} : { plan }) };
}

export interface BenchResult {
  name: string;
  title: string;
  /** The command that reproduces exactly this part. */
  command: string;
  duration_s: number;
  figures: Figure[];
  /** Method and conditions, a few sentences of markdown. */
  method: string;
  /** Further measurements for the JSON. */
  details: Record<string, unknown>;
  /** The same as tables for RESULTS.md. */
  detailsMarkdown: string;
}
