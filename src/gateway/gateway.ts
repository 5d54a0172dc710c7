import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import type { Ledger, Reservation } from '../ledger/ledger.js';
import { formatUsd, type Micros } from '../money.js';
import { costOf, createPriceBook, type PriceBook } from '../pricing/price.js';
import { ZERO_USAGE, type ModelPrice, type TokenUsage } from '../pricing/types.js';
import { anthropicCountTokens, anthropicMessages } from './anthropic.js';
import { BYTES_PER_TOKEN, estimatedUsage, overdraftFor, planReservation, reserveWithKnownInput, runningCost, type ReservationPlan } from './estimate.js';
import { openaiChatCompletions, openaiResponses } from './openai.js';
import { refusal, type Provider, type Refusal } from './refusal.js';
import type { JsonObject, MeteredCall, Route } from './route.js';
import { SseFramer, SseParser } from './sse.js';
import type { StreamMeter } from './usage.js';

export interface UsageEvent {
  sandboxId: string;
  provider: Provider;
  /** The model as the request named it. */
  model: string;
  usage: TokenUsage;
  cost: Micros;
  /** True when the provider never reported usage (stream cut or broken) and the gateway's estimate was charged. */
  estimated: boolean;
}

export interface Upstreams {
  anthropic?: string;
  openai?: string;
}

export interface SandboxKeys {
  anthropicApiKey?: string;
  /** Sent as `Authorization: Bearer` (Anthropic OAuth / auth-token deployments). */
  anthropicAuthToken?: string;
  openaiApiKey?: string;
}

export interface GatewayOptions {
  ledger: Ledger;
  prices?: PriceBook;
  /** Default: env CAGED_UPSTREAM_ANTHROPIC / CAGED_UPSTREAM_OPENAI, else the providers' public APIs. */
  upstreams?: Upstreams;
  /** Upstream timeouts; a streamed answer may pause for minutes while a model thinks. */
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
}

export interface GatewayListener {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

interface Registration {
  sandboxId: string;
  tokenHash: string;
  keys: SandboxKeys;
  prices?: PriceBook;
  upstreams?: Upstreams;
}

const PUBLIC_UPSTREAMS: Required<Upstreams> = { anthropic: 'https://api.anthropic.com', openai: 'https://api.openai.com' };

const ROUTES = new Map<string, Route>([
  ['/v1/messages', anthropicMessages],
  ['/v1/messages/count_tokens', anthropicCountTokens],
  ['/v1/responses', openaiResponses],
  ['/v1/chat/completions', openaiChatCompletions],
]);

/** Anthropic's own request limit; larger bodies are refused before they are buffered. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Non-streamed answers are kept for their usage up to this size; beyond it the estimate is charged. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** A hold that must grow mid-stream grows by at least this many output tokens, to spare the ledger per-event churn. */
const GROWTH_TOKENS = 1024;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** Request headers that never reach the provider: the sandbox's credentials and our framing. */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'content-length', 'accept-encoding', 'x-api-key', 'authorization']);

/**
 * The LLM metering proxy. Each sandbox gets a token in place of a provider key; the gateway knows
 * the sandbox from it, holds a reservation in the ledger before forwarding (clamping the output
 * limit to what the budget can pay), swaps in the real key, streams the answer through unbuffered
 * while reading its usage, cuts it at the budget, and commits the provider-reported cost.
 */
export class Gateway extends EventEmitter<{
  usage: [UsageEvent];
  request: [{ sandboxId: string; provider: string; path: string }];
  refused: [{ sandboxId: string; reason: string }];
}> {
  readonly #ledger: Ledger;
  readonly #prices: PriceBook;
  readonly #upstreams: Required<Upstreams>;
  readonly #dispatcher: Agent;
  readonly #byToken = new Map<string, Registration>();
  readonly #bySandbox = new Map<string, Registration>();
  /** Per sandbox: callbacks of requests waiting for a hold to be released. */
  readonly #waiting = new Map<string, Set<() => void>>();
  readonly #servers = new Set<Server>();

  constructor(opts: GatewayOptions) {
    super();
    this.#ledger = opts.ledger;
    this.#prices = opts.prices ?? createPriceBook();
    this.#upstreams = {
      anthropic: opts.upstreams?.anthropic ?? process.env.CAGED_UPSTREAM_ANTHROPIC ?? PUBLIC_UPSTREAMS.anthropic,
      openai: opts.upstreams?.openai ?? process.env.CAGED_UPSTREAM_OPENAI ?? PUBLIC_UPSTREAMS.openai,
    };
    this.#dispatcher = new Agent({
      connectTimeout: opts.timeouts?.connectMs ?? 30_000,
      headersTimeout: opts.timeouts?.headersMs ?? 600_000,
      bodyTimeout: opts.timeouts?.bodyMs ?? 600_000,
    });
  }

  /**
   * Issues the token the sandbox uses as its API key (or takes back `token`, the one a re-adopted
   * sandbox already holds). The ledger account is the caller's to open.
   */
  register(sandboxId: string, opts: { keys: SandboxKeys; prices?: PriceBook; upstreams?: Upstreams; token?: string }): { token: string } {
    this.unregister(sandboxId);
    const token = opts.token ?? `sk-caged-${randomBytes(32).toString('base64url')}`;
    const registration: Registration = { sandboxId, tokenHash: hashToken(token), keys: { ...opts.keys }, prices: opts.prices, upstreams: opts.upstreams };
    this.#byToken.set(registration.tokenHash, registration);
    this.#bySandbox.set(sandboxId, registration);
    return { token };
  }

  /** Revokes the sandbox's token; calls in flight still finish and are charged. */
  unregister(sandboxId: string): void {
    const registration = this.#bySandbox.get(sandboxId);
    if (!registration) return;
    this.#byToken.delete(registration.tokenHash);
    this.#bySandbox.delete(sandboxId);
  }

  /** Serves on one more address (one per sandbox network gateway IP); port 0 picks a free port. */
  async listen(host: string, port = 0): Promise<GatewayListener> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) send(res, refusal(providerOf(req), 'upstream', 'caged gateway: internal error'));
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#servers.add(server);
    const address = server.address() as AddressInfo;
    const urlHost = address.family === 'IPv6' || host.includes(':') ? `[${address.address}]` : address.address;
    return {
      url: `http://${urlHost}:${address.port}`,
      host: address.address,
      port: address.port,
      close: () => this.#closeServer(server),
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#servers].map((server) => this.#closeServer(server)));
    await this.#dispatcher.close();
  }

  async #closeServer(server: Server): Promise<void> {
    if (!this.#servers.delete(server)) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const route = req.method === 'POST' ? ROUTES.get(url.pathname.replace(/\/+$/, '')) : undefined;
    if (!route) {
      send(res, refusal(providerOf(req), 'not_found', `caged gateway: ${req.method} ${url.pathname} is not served (it meters POST /v1/messages, /v1/messages/count_tokens, /v1/responses, /v1/chat/completions)`));
      return;
    }
    const provider = route.provider;
    const registration = this.#byToken.get(hashToken(sandboxToken(req.headers) ?? ''));
    if (!registration) {
      send(res, refusal(provider, 'auth', 'caged gateway: unknown or revoked sandbox token'));
      return;
    }
    const { sandboxId } = registration;
    this.emit('request', { sandboxId, provider, path: url.pathname });

    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      this.#refuse(res, sandboxId, refusal(provider, 'too_large', `caged gateway: request body over ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const auth = upstreamAuth(provider, registration.keys);
    if (!auth) {
      const variable = provider === 'anthropic' ? 'ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN' : 'OPENAI_API_KEY';
      this.#refuse(res, sandboxId, refusal(provider, 'auth', `caged gateway: no ${provider} API key is configured for sandbox ${sandboxId} (set ${variable} where caged runs)`));
      return;
    }
    const target = upstreamUrl(registration.upstreams?.[provider] ?? this.#upstreams[provider], url.pathname, url.search);
    const headers = forwardHeaders(req.headers, auth);
    if (!route.metered) {
      await this.#passThrough(res, provider, target, headers, body);
      return;
    }

    const json = parseObject(body);
    if (!json) {
      this.#refuse(res, sandboxId, refusal(provider, 'bad_request', 'caged gateway: the request body is not a JSON object'));
      return;
    }
    const call = route.parse(json);
    if ('error' in call) {
      this.#refuse(res, sandboxId, refusal(provider, 'bad_request', call.error));
      return;
    }
    const price = (registration.prices ?? this.#prices).lookup(call.model);
    if (!price) {
      const message =
        `caged gateway: no price for model "${call.model}", so its spend cannot be metered. ` +
        `Add it to .caged.yaml: pricing: { models: { "${call.model}": { input: <USD per million tokens>, output: <USD per million tokens> } } }`;
      this.#refuse(res, sandboxId, refusal(provider, 'unknown_model', message));
      return;
    }

    const admitted = await this.#admit(sandboxId, provider, price, call, body.length, res);
    if ('refusal' in admitted) {
      if (admitted.refusal) this.#refuse(res, sandboxId, admitted.refusal);
      return;
    }
    const { plan } = admitted;
    const holder = new Hold(this.#ledger, admitted.reservation);
    try {
      const prepared = call.prepare(plan.outputTokens, plan.clamped);
      await this.#forward({ res, sandboxId, provider, price, call, plan, holder, target, headers, body: prepared === json ? body : Buffer.from(JSON.stringify(prepared)) });
    } finally {
      holder.release();
      this.#wake(sandboxId);
    }
  }

  /**
   * Holds budget for one call. When the budget cannot pay even a minimal answer, the call waits if
   * holds of calls in flight are what stand in its way, else it is refused and the sandbox marked
   * exceeded: the budget is spent, not merely busy.
   */
  async #admit(
    sandboxId: string,
    provider: Provider,
    price: ModelPrice,
    call: MeteredCall,
    bodyBytes: number,
    res: ServerResponse,
  ): Promise<{ plan: ReservationPlan; reservation: Reservation } | { refusal: Refusal | undefined }> {
    const estimateBytes = bodyBytes + (call.hiddenInputTokens ?? 0) * BYTES_PER_TOKEN;
    const plan = (available: Micros) => planReservation(price, estimateBytes, call.requestedOutput, available, call.minOutput);
    for (;;) {
      if (!this.#ledger.has(sandboxId)) return { refusal: refusal(provider, 'budget', `caged: sandbox ${sandboxId} has no budget account`) };
      const snapshot = this.#ledger.snapshot(sandboxId);
      const spent = `${formatUsd(snapshot.committed)}/${formatUsd(snapshot.budget)}`;
      if (snapshot.exceeded) return { refusal: refusal(provider, 'budget', `caged: sandbox ${sandboxId} budget limit reached (${spent})`) };
      const now = plan(snapshot.available);
      if (now.ok) {
        const reservation = this.#ledger.reserve(sandboxId, now.plan.reserve);
        if (reservation) return { plan: now.plan, reservation };
      } else {
        const unheld = plan(Math.max(0, snapshot.budget - snapshot.committed));
        if (!unheld.ok) {
          const reason = `budget limit reached (${spent}): the next request needs about ${formatUsd(unheld.needed)} (input estimate + ${unheld.minOutput} output tokens)`;
          this.#ledger.markExceeded(sandboxId, reason);
          return { refusal: refusal(provider, 'budget', `caged: sandbox ${sandboxId} ${reason}`) };
        }
      }
      if (!(await this.#waitForRelease(sandboxId, res))) return { refusal: undefined };
    }
  }

  /** Resolves true once a hold of the sandbox is released, false if the client went away first. */
  #waitForRelease(sandboxId: string, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const waiters = this.#waiting.get(sandboxId) ?? new Set();
      this.#waiting.set(sandboxId, waiters);
      const settle = (released: boolean) => {
        waiters.delete(wake);
        res.off('close', gone);
        resolve(released);
      };
      const wake = () => settle(true);
      const gone = () => settle(false);
      waiters.add(wake);
      res.on('close', gone);
    });
  }

  #wake(sandboxId: string): void {
    const waiters = this.#waiting.get(sandboxId);
    if (!waiters) return;
    this.#waiting.delete(sandboxId);
    for (const wake of waiters) wake();
  }

  #refuse(res: ServerResponse, sandboxId: string, answer: Refusal): void {
    this.emit('refused', { sandboxId, reason: messageOf(answer) });
    send(res, answer);
  }

  async #passThrough(res: ServerResponse, provider: Provider, target: string, headers: Record<string, string>, body: Buffer): Promise<void> {
    const upstream = await this.#request(target, headers, body);
    if ('refusal' in upstream) {
      send(res, refusal(provider, 'upstream', upstream.refusal));
      return;
    }
    res.writeHead(upstream.statusCode, responseHeaders(upstream.headers, false));
    await pipeOut(upstream.body, res);
  }

  async #request(target: string, headers: Record<string, string>, body: Buffer, signal?: AbortSignal): Promise<Dispatcher.ResponseData | { refusal: string }> {
    try {
      return await request(target, { method: 'POST', headers, body, dispatcher: this.#dispatcher, signal });
    } catch (error) {
      return { refusal: `caged gateway: upstream ${new URL(target).host} did not answer (${(error as Error).message})` };
    }
  }

  async #forward(ctx: ForwardContext): Promise<void> {
    const { res, provider, call, holder } = ctx;
    const abort = new AbortController();
    const upstream = await this.#request(ctx.target, ctx.headers, ctx.body, abort.signal);
    if ('refusal' in upstream) {
      send(res, refusal(provider, 'upstream', upstream.refusal));
      return;
    }
    // Errors pass through as the provider sent them; no tokens, no charge.
    if (upstream.statusCode < 200 || upstream.statusCode >= 300) {
      res.writeHead(upstream.statusCode, responseHeaders(upstream.headers, false));
      await pipeOut(upstream.body, res);
      return;
    }
    const streamed = String(upstream.headers['content-type'] ?? '').includes('text/event-stream');
    res.writeHead(upstream.statusCode, responseHeaders(upstream.headers, streamed));
    if (!streamed) {
      await this.#forwardJson(ctx, upstream.body);
      return;
    }
    // The head goes out at once: time to first byte is the upstream's.
    res.flushHeaders();

    const meter = call.meter();
    const framer = new SseFramer();
    const parser = new SseParser();
    let received = false;
    let broken = false;
    let cut: string | undefined;
    let inputKnown = false;
    /** Meters one whole event; false when the budget cannot pay for what it brings. */
    const admitEvent = (block: Buffer): { forward: boolean; withinBudget: boolean } => {
      const events = parser.push(block);
      for (const event of events) meter.push(event);
      const forward = !events.some((event) => call.hides?.(event));
      if (meter.terminal) return { forward, withinBudget: true };
      if (meter.reported && !inputKnown) {
        // The real input is known (Anthropic reports it up front): hold exactly that plus the output allowance.
        inputKnown = true;
        holder.resizeTo(reserveWithKnownInput(ctx.price, ctx.plan, meter.reported));
      }
      const spent = runningCost(ctx.price, ctx.plan, meter.reported, meter.countedOutput);
      const withinBudget = spent <= holder.amount || holder.growTo(spent + costOf(ctx.price, { ...ZERO_USAGE, output: GROWTH_TOKENS })) || holder.growTo(spent);
      return { forward, withinBudget };
    };
    try {
      for await (const chunk of upstream.body) {
        received = true;
        const out: Buffer[] = [];
        for (const block of framer.push(chunk as Buffer)) {
          const { forward, withinBudget } = admitEvent(block);
          if (forward) out.push(block);
          if (!withinBudget) {
            cut = this.#budgetMessage(ctx.sandboxId);
            break;
          }
        }
        await write(res, Buffer.concat(out));
        if (cut !== undefined) {
          abort.abort();
          break;
        }
      }
      if (cut === undefined) {
        const rest = framer.rest();
        const events = [...parser.push(rest), ...parser.end()];
        for (const event of events) meter.push(event);
        if (!events.some((event) => call.hides?.(event))) await write(res, rest);
      }
    } catch {
      broken = cut === undefined;
    }

    if (cut !== undefined) {
      // Not marked exceeded here: when other calls' holds were what stood in the way, budget is left
      // for the agent's next call. The commit below marks it once the spend really reaches the budget.
      this.emit('refused', { sandboxId: ctx.sandboxId, reason: cut });
      await write(res, call.cutEvent(cut, meter));
      res.end();
    } else if (broken) {
      // The upstream connection broke off: break the client's the same way, so it can retry.
      res.destroy();
    } else {
      res.end();
    }
    const reported = meter.reported;
    if (meter.final && reported && cut === undefined) this.#commit(ctx, reported, false);
    else if (received) this.#commitEstimate(ctx, meter);
  }

  async #forwardJson(ctx: ForwardContext, body: AsyncIterable<unknown>): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    let received = false;
    try {
      for await (const chunk of body) {
        received = true;
        const bytes = chunk as Buffer;
        size += bytes.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(bytes);
        await write(ctx.res, bytes);
      }
      ctx.res.end();
    } catch {
      ctx.res.destroy();
    }
    const usage = size <= MAX_ANSWER_BYTES ? ctx.call.usageOf(parseObject(Buffer.concat(chunks))) : undefined;
    if (usage) this.#commit(ctx, usage, false);
    else if (received) this.#commit(ctx, estimatedUsage(ctx.plan, undefined, 0), true, ctx.plan.reserve);
  }

  #commitEstimate(ctx: ForwardContext, meter: StreamMeter): void {
    const usage = estimatedUsage(ctx.plan, meter.reported, meter.countedOutput);
    this.#commit(ctx, usage, true, runningCost(ctx.price, ctx.plan, meter.reported, meter.countedOutput));
  }

  #commit(ctx: ForwardContext, usage: TokenUsage, estimated: boolean, cost = costOf(ctx.price, usage)): void {
    ctx.holder.commit(cost, { provider: ctx.provider, model: ctx.call.model, estimated });
    this.emit('usage', { sandboxId: ctx.sandboxId, provider: ctx.provider, model: ctx.call.model, usage, cost, estimated });
  }

  #budgetMessage(sandboxId: string): string {
    const snapshot = this.#ledger.has(sandboxId) ? this.#ledger.snapshot(sandboxId) : undefined;
    const spent = snapshot ? ` (${formatUsd(snapshot.committed + snapshot.reserved)}/${formatUsd(snapshot.budget)})` : '';
    return `caged: sandbox ${sandboxId} budget limit reached${spent}: answer cut`;
  }
}

interface ForwardContext {
  res: ServerResponse;
  sandboxId: string;
  provider: Provider;
  price: ModelPrice;
  call: MeteredCall;
  plan: ReservationPlan;
  holder: Hold;
  target: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** One call's reservation over its life: resized as usage becomes known, committed or released exactly once. */
class Hold {
  readonly ledger: Ledger;
  #reservation: Reservation | undefined;

  constructor(ledger: Ledger, reservation: Reservation) {
    this.ledger = ledger;
    this.#reservation = reservation;
  }

  get amount(): Micros {
    return this.#reservation?.amount ?? 0;
  }

  growTo(amount: Micros): boolean {
    if (!this.#reservation || !this.ledger.has(this.#reservation.sandboxId)) return false;
    const overdraft = overdraftFor(this.ledger.snapshot(this.#reservation.sandboxId).budget);
    const grown = this.ledger.resize(this.#reservation, amount, overdraft);
    if (grown) this.#reservation = grown;
    return grown !== undefined;
  }

  /** Sets the hold to `amount` where it can: shrinking always, growing into what is left (and the overdraft). */
  resizeTo(amount: Micros): void {
    if (amount > this.amount) this.growTo(amount);
    else if (this.#reservation) this.#reservation = this.ledger.resize(this.#reservation, amount) ?? this.#reservation;
  }

  commit(cost: Micros, detail: Record<string, unknown>): void {
    const reservation = this.#reservation;
    if (!reservation) return;
    this.#reservation = undefined;
    // The account may be closed while a call is in flight (sandbox destroyed): the spend is then reported only.
    if (this.ledger.has(reservation.sandboxId)) this.ledger.commit(reservation, cost, detail);
  }

  release(): void {
    if (this.#reservation) this.ledger.release(this.#reservation);
    this.#reservation = undefined;
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function sandboxToken(headers: IncomingHttpHeaders): string | undefined {
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key !== '') return key;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/** Best guess at the caller's protocol for answers to unknown routes. */
function providerOf(req: IncomingMessage): Provider {
  return req.headers['anthropic-version'] !== undefined || req.headers['x-api-key'] !== undefined ? 'anthropic' : 'openai';
}

function upstreamAuth(provider: Provider, keys: SandboxKeys): Record<string, string> | undefined {
  if (provider === 'openai') return keys.openaiApiKey ? { authorization: `Bearer ${keys.openaiApiKey}` } : undefined;
  if (keys.anthropicApiKey) return { 'x-api-key': keys.anthropicApiKey };
  if (keys.anthropicAuthToken) return { authorization: `Bearer ${keys.anthropicAuthToken}` };
  return undefined;
}

/**
 * The upstream URL for a request path. A base that already ends in /v1 (the OpenAI SDK
 * convention) does not get a second one.
 */
export function upstreamUrl(base: string, path: string, search: string): string {
  const url = new URL(base);
  const prefix = url.pathname.replace(/\/+$/, '');
  url.pathname = prefix + (prefix.endsWith('/v1') && path.startsWith('/v1/') ? path.slice(3) : path);
  url.search = search;
  return url.toString();
}

/** The client's headers minus hop-by-hop ones and its sandbox token, plus the real key; plain bytes back. */
export function forwardHeaders(incoming: IncomingHttpHeaders, auth: Record<string, string>): Record<string, string> {
  const listed = new Set(
    String(incoming.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase()),
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || NOT_FORWARDED.has(name) || listed.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  // Usage is read from the answer, so it must come uncompressed.
  return { ...headers, 'accept-encoding': 'identity', ...auth };
}

function responseHeaders(incoming: Record<string, string | string[] | undefined>, streamed: boolean): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || (streamed && name === 'content-length')) continue;
    headers[name] = value;
  }
  return headers;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseObject(bytes: Buffer): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, answer: Refusal): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
  res.end(answer.body);
}

function messageOf(answer: Refusal): string {
  const body = parseObject(Buffer.from(answer.body));
  const error = body?.error as JsonObject | undefined;
  return typeof error?.message === 'string' ? error.message : answer.body;
}

/** Writes with backpressure; a client that went away is skipped, never waited for. */
function write(res: ServerResponse, data: Buffer | string): Promise<void> {
  if (res.destroyed || res.writableEnded || data.length === 0) return Promise.resolve();
  if (res.write(data)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function pipeOut(body: AsyncIterable<unknown>, res: ServerResponse): Promise<void> {
  try {
    for await (const chunk of body) await write(res, chunk as Buffer);
    res.end();
  } catch {
    res.destroy();
  }
}
