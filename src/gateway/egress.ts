import { lookup } from 'node:dns/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, isIP, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { parseHostPattern, type HostPattern } from '../net/host-pattern.js';
import { checkAddresses, checkName, normalizeHost } from './egress-policy.js';

export type Resolver = (host: string) => Promise<string[]>;

export interface EgressDecision {
  host: string;
  port: number;
  allowed: boolean;
  /** Why it was refused. */
  reason?: string;
}

export interface EgressProxyOptions {
  host: string;
  port?: number;
  /** `allowed_hosts` entries, parsed or as written. */
  allowed: readonly HostPattern[] | readonly string[];
  /** Name resolution (default: the system resolver); injectable for tests. */
  resolve?: Resolver;
  /** Told of every connection attempt and its verdict. */
  onDecision?: (decision: EgressDecision) => void;
  connectTimeoutMs?: number;
}

export interface EgressProxy {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * The sandbox network's only way out in allowlist mode: an HTTP forward proxy (CONNECT for TLS,
 * absolute-form requests for plain HTTP) that resolves names itself, checks them against
 * `allowed_hosts`, refuses LLM provider hosts and non-public addresses, and answers 403 with the
 * reason otherwise.
 */
export async function startEgressProxy(options: EgressProxyOptions): Promise<EgressProxy> {
  const allowed = options.allowed.map((entry) => (typeof entry === 'string' ? parseHostPattern(entry) : entry));
  const resolve = options.resolve ?? systemResolve;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const tunnels = new Set<Duplex>();

  const authorize = async (host: string, port: number): Promise<{ ok: true; address: string } | { ok: false; status: number; reason: string }> => {
    const decide = (verdict: { ok: true; address: string } | { ok: false; status: number; reason: string }) => {
      options.onDecision?.({ host, port, allowed: verdict.ok, ...(verdict.ok ? {} : { reason: verdict.reason }) });
      return verdict;
    };
    const name = checkName(host, port, allowed);
    if (!name.ok) return decide({ ok: false, status: 403, reason: name.reason });
    const bare = normalizeHost(host);
    let addresses: string[];
    try {
      addresses = isIP(bare) === 0 ? await resolve(bare) : [bare];
    } catch (error) {
      return decide({ ok: false, status: 502, reason: `cannot resolve ${bare}: ${(error as Error).message}` });
    }
    const verdict = checkAddresses(host, port, allowed, addresses, name.byName);
    return decide(verdict.ok ? { ok: true, address: verdict.addresses[0]! } : { ok: false, status: 403, reason: verdict.reason });
  };

  const server = createServer((req, res) => {
    void forward(req, res, authorize).catch(() => refuse(res, 502, 'caged egress proxy: upstream failed'));
  });
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    tunnels.add(client);
    client.on('close', () => tunnels.delete(client));
    client.on('error', () => client.destroy());
    void tunnel(req, client, head, authorize, connectTimeoutMs, tunnels);
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host, () => {
      server.off('error', fail);
      done();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
        for (const socket of tunnels) socket.destroy();
      }),
  };
}

/** The environment that sends a sandbox's HTTP(S) traffic through the proxy, but not its calls to the gateway. */
export function proxyEnv(url: string, gatewayHost: string): Record<string, string> {
  const noProxy = ['localhost', '127.0.0.1', '::1', gatewayHost].join(',');
  return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url, NO_PROXY: noProxy, no_proxy: noProxy };
}

type Authorize = (host: string, port: number) => Promise<{ ok: true; address: string } | { ok: false; status: number; reason: string }>;

async function tunnel(req: IncomingMessage, client: Duplex, head: Buffer, authorize: Authorize, timeoutMs: number, tunnels: Set<Duplex>): Promise<void> {
  const target = parseAuthority(req.url ?? '');
  if (!target) {
    rawRefuse(client, 400, `caged egress proxy: CONNECT needs host:port, got "${req.url ?? ''}"`);
    return;
  }
  const verdict = await authorize(target.host, target.port);
  if (!verdict.ok) {
    rawRefuse(client, verdict.status, `caged egress proxy: ${verdict.reason}`);
    return;
  }
  const upstream: Socket = connect({ host: verdict.address, port: target.port });
  let connected = false;
  tunnels.add(upstream);
  upstream.setTimeout(timeoutMs, () => upstream.destroy(new Error('connect timeout')));
  upstream.once('connect', () => {
    connected = true;
    upstream.setTimeout(0);
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', (error) => {
    if (!connected) rawRefuse(client, 502, `caged egress proxy: cannot connect to ${target.host}:${target.port} (${error.message})`);
    else client.destroy();
  });
  upstream.on('close', () => {
    tunnels.delete(upstream);
    client.end();
  });
  client.on('close', () => upstream.destroy());
}

async function forward(req: IncomingMessage, res: ServerResponse, authorize: Authorize): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '');
  } catch {
    refuse(res, 400, 'caged egress proxy: send absolute-form requests (this is an HTTP proxy)');
    return;
  }
  if (url.protocol !== 'http:') {
    refuse(res, 400, `caged egress proxy: ${url.protocol} URLs go through CONNECT`);
    return;
  }
  const port = url.port === '' ? 80 : Number(url.port);
  const verdict = await authorize(url.hostname, port);
  if (!verdict.ok) {
    refuse(res, verdict.status, `caged egress proxy: ${verdict.reason}`);
    return;
  }
  const headers = { ...req.headers };
  for (const name of HOP_BY_HOP) delete headers[name];
  await new Promise<void>((done) => {
    const upstream = httpRequest({ host: verdict.address, port, method: req.method, path: `${url.pathname}${url.search}`, headers, setHost: false }, (answer) => {
      const back = { ...answer.headers };
      for (const name of HOP_BY_HOP) delete back[name];
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
      answer.on('end', done);
      answer.on('error', () => {
        res.destroy();
        done();
      });
    });
    upstream.on('error', (error) => {
      refuse(res, 502, `caged egress proxy: cannot reach ${url.host} (${error.message})`);
      done();
    });
    req.pipe(upstream);
  });
}

function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1]!, port } : undefined;
}

function refuse(res: ServerResponse, status: number, reason: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-caged-reason': headerSafe(reason), connection: 'close' });
  res.end(`${reason}\n`);
}

function rawRefuse(client: Duplex, status: number, reason: string): void {
  if (client.destroyed) return;
  const body = `${reason}\n`;
  const text = status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway';
  client.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\nx-caged-reason: ${headerSafe(reason)}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

async function systemResolve(host: string): Promise<string[]> {
  const results = await lookup(host, { all: true, verbatim: true });
  return results.map((result) => result.address);
}
