import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, request } from 'undici';
import { packageVersion } from '../version.js';

/**
 * Signed webhook deliveries. A delivery is queued (durably, when a queue is given) and retried
 * with exponential backoff in the background; every attempt is recorded; nothing here is ever
 * awaited by the engine.
 */

export type WebhookEvent = 'sandbox.budget_exceeded' | 'sandbox.completed';

export interface DeliveryAttempt {
  delivery_id: string;
  sandbox_id: string;
  event: WebhookEvent;
  url: string;
  attempt: number;
  status: number | null;
  error: string | null;
}

/** A delivery as queued: enough for a restarted server to go on with it. */
export interface QueuedDelivery {
  deliveryId: string;
  tenant: string;
  sandboxId: string;
  event: WebhookEvent;
  url: string;
  /** Signed anew on every attempt (with a fresh timestamp), but the same bytes. */
  body: string;
  /** Attempts already made. */
  attempts: number;
}

export interface WebhookSenderOptions {
  /** The signing secret of a tenant. */
  secretFor(tenant: string): string;
  record(tenant: string, attempt: DeliveryAttempt): void;
  /** Durable queue: a delivery is added before its first attempt and settled once it succeeds or gives up. */
  queue?: { add(delivery: QueuedDelivery): void; settle(deliveryId: string): void };
  /** Loopback, private and link-local targets are refused unless allowed (tests, one-host setups). */
  allowPrivate?: boolean;
  /** Tries in all (default 6: the first and five retries). */
  attempts?: number;
  /** Wait before the first retry; doubles each time, at most 5 minutes (default 2 s). */
  baseDelayMs?: number;
  timeoutMs?: number;
}

export interface Delivery {
  tenant: string;
  sandboxId: string;
  event: WebhookEvent;
  url: string;
  payload: Record<string, unknown>;
}

const MAX_DELAY_MS = 5 * 60_000;

/** `sha256=` + hex HMAC-SHA256 of `timestamp + "." + body`. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** For receivers: checks the signature and that the timestamp is recent (default 5 minutes). */
export function verifyWebhookSignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  const age = Math.abs((options.now ?? Date.now()) / 1000 - Number(timestamp));
  if (age > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(webhookSignature(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

/** Loopback, private, link-local, CGNAT, multicast and unspecified addresses (v4-mapped v6 included). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family === 6) return PRIVATE.check(address, 'ipv6');
  return false;
}

/** Why a URL the server would call (webhook, provider base URL) may not be used, or undefined. */
export function outboundTargetProblem(url: string, allowPrivate: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an http(s) URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http(s) URL';
  if (parsed.username || parsed.password) return 'must not carry credentials';
  if (allowPrivate) return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host)) {
    return `${parsed.hostname} is a loopback or private address; this server does not call those (start it with --allow-private-targets)`;
  }
  return undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A DNS lookup that refuses private answers, so a public name cannot be re-pointed inward. */
function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const inward = addresses.find((entry) => isPrivateAddress(entry.address));
    if (inward) return callback(Object.assign(new Error(`${hostname} resolves to a private address`), { code: 'EPRIVATE' }), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}

export class WebhookSender {
  readonly #options: Required<Omit<WebhookSenderOptions, 'secretFor' | 'record' | 'queue'>> & Pick<WebhookSenderOptions, 'secretFor' | 'record' | 'queue'>;
  readonly #agent: Agent;
  readonly #pending = new Set<Promise<void>>();
  readonly #controller = new AbortController();
  readonly #userAgent = `caged/${packageVersion()}`;

  constructor(options: WebhookSenderOptions) {
    this.#options = { allowPrivate: false, attempts: 6, baseDelayMs: 2000, timeoutMs: 10_000, ...options };
    this.#agent = new Agent({
      connect: { timeout: this.#options.timeoutMs, ...(this.#options.allowPrivate ? {} : { lookup: publicOnlyLookup }) },
      headersTimeout: this.#options.timeoutMs,
      bodyTimeout: this.#options.timeoutMs,
    });
  }

  /** Queues a delivery and returns at once. */
  send(delivery: Delivery): void {
    if (this.#controller.signal.aborted) return;
    const deliveryId = `dlv_${randomBytes(8).toString('hex')}`;
    const body = JSON.stringify({ id: deliveryId, type: delivery.event, created_at: new Date().toISOString(), ...delivery.payload });
    const queued: QueuedDelivery = { deliveryId, tenant: delivery.tenant, sandboxId: delivery.sandboxId, event: delivery.event, url: delivery.url, body, attempts: 0 };
    this.#options.queue?.add(queued);
    this.#track(queued);
  }

  /** Goes on with deliveries an earlier server life left unsettled. */
  resume(deliveries: QueuedDelivery[]): void {
    for (const queued of deliveries) if (!this.#controller.signal.aborted) this.#track(queued);
  }

  /** Resolves when every queued delivery has succeeded or given up (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Lets deliveries in flight finish for up to `graceMs`; the rest stay queued for the next start. */
  async close(graceMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.#controller.abort();
    await this.idle();
    await this.#agent.close();
  }

  #track(queued: QueuedDelivery): void {
    const task = this.#deliver(queued).finally(() => this.#pending.delete(task));
    this.#pending.add(task);
  }

  async #deliver(queued: QueuedDelivery): Promise<void> {
    const secret = this.#options.secretFor(queued.tenant);
    for (let attempt = queued.attempts + 1; attempt <= this.#options.attempts; attempt += 1) {
      const outcome = await this.#attempt(queued, secret);
      this.#options.record(queued.tenant, {
        delivery_id: queued.deliveryId,
        sandbox_id: queued.sandboxId,
        event: queued.event,
        url: queued.url,
        attempt,
        ...outcome,
      });
      const delivered = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
      if (delivered || attempt === this.#options.attempts) break;
      // Closing mid-backoff leaves the delivery queued for the next start.
      if (this.#controller.signal.aborted) return;
      const delay = Math.min(this.#options.baseDelayMs * 2 ** (attempt - 1), MAX_DELAY_MS);
      if (!(await this.#sleep(delay))) return;
    }
    this.#options.queue?.settle(queued.deliveryId);
  }

  async #attempt(queued: QueuedDelivery, secret: string): Promise<{ status: number | null; error: string | null }> {
    const { url, body, event, deliveryId } = queued;
    const problem = outboundTargetProblem(url, this.#options.allowPrivate);
    if (problem) return { status: null, error: problem };
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.#agent,
        signal: this.#controller.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.#userAgent,
          'x-caged-event': event,
          'x-caged-delivery': deliveryId,
          'x-caged-timestamp': timestamp,
          'x-caged-signature': webhookSignature(secret, timestamp, body),
        },
        body,
      });
      await response.body.dump();
      return { status: response.statusCode, error: response.statusCode >= 300 ? `HTTP ${response.statusCode}` : null };
    } catch (error) {
      return { status: null, error: (error as Error).message };
    }
  }

  /** False when the sender closed meanwhile. */
  #sleep(ms: number): Promise<boolean> {
    const signal = this.#controller.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
