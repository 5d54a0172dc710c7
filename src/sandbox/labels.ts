import { LABELS, type ManagedResource, type SandboxIdentity } from './types.js';

/**
 * Labels for every Docker object of one sandbox. The dev.caged.* basics are written last so
 * that extra labels cannot disguise a sandbox as someone else's or as unmanaged.
 */
export function sandboxLabels(identity: SandboxIdentity, owner: string, workspaceRoot: string): Record<string, string> {
  const labels: Record<string, string> = { ...identity.labels };
  labels[LABELS.managed] = 'true';
  labels[LABELS.id] = identity.id;
  labels[LABELS.owner] = owner;
  labels[LABELS.workspaces] = workspaceRoot;
  labels[LABELS.expiresAt] = identity.expiresAt.toISOString();
  if (identity.budgetMicros !== undefined) labels[LABELS.budgetUsd] = microsToUsdLabel(identity.budgetMicros);
  return labels;
}

/** Exact decimal USD ("5", "0.25", "0.000001"): a label is read by people and by scripts. */
export function microsToUsdLabel(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const fraction = String(micros % 1_000_000).padStart(6, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** Reads a Docker object's labels back; objects without the managed label are not caged's. */
export function managedResource(
  kind: ManagedResource['kind'],
  dockerId: string,
  labels: Record<string, string> | null | undefined,
): ManagedResource | undefined {
  if (!labels || labels[LABELS.managed] !== 'true') return undefined;
  const expiresLabel = labels[LABELS.expiresAt];
  const expires = expiresLabel ? new Date(expiresLabel) : undefined;
  return {
    kind,
    dockerId,
    sandboxId: labels[LABELS.id] ?? '',
    owner: labels[LABELS.owner] ?? '',
    ...(expires && !Number.isNaN(expires.getTime()) ? { expiresAt: expires } : {}),
    labels: { ...labels },
  };
}
