import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyEnv, startEgressProxy, type EgressDecision, type EgressProxy } from '../../../src/gateway/egress.js';

let target: Server;
let targetPort: number;
let proxy: EgressProxy;
const decisions: EgressDecision[] = [];
const lookups: string[] = [];

/** A resolver with fixed answers, so no test ever asks real DNS. */
async function resolve(host: string): Promise<string[]> {
  lookups.push(host);
  const table: Record<string, string[]> = {
    'svc.test': ['127.0.0.1'],
    'sneaky.test': ['10.0.0.5'],
    'metadata.test': ['169.254.169.254'],
  };
  const addresses = table[host];
  if (!addresses) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
  return addresses;
}

beforeAll(async () => {
  target = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello from ${req.headers.host} ${req.url}`);
  });
  await new Promise<void>((done) => target.listen(0, '127.0.0.1', done));
  targetPort = (target.address() as AddressInfo).port;
  proxy = await startEgressProxy({
    host: '127.0.0.1',
    allowed: ['svc.test', 'sneaky.test', 'metadata.test', `127.0.0.1:${targetPort}`, 'api.anthropic.com'],
    resolve,
    onDecision: (decision) => decisions.push(decision),
  });
});

afterAll(async () => {
  await proxy.close();
  await new Promise<void>((done) => target.close(() => done()));
});

/** A plain-HTTP request through the proxy (absolute-form request line). */
function viaProxy(url: string): Promise<{ status: number; body: string; reason: string | undefined }> {
  const proxyUrl = new URL(proxy.url);
  return new Promise((done, fail) => {
    const req = request({ host: proxyUrl.hostname, port: Number(proxyUrl.port), path: url, headers: { host: new URL(url).host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, body, reason: res.headers['x-caged-reason'] as string | undefined }));
    });
    req.on('error', fail);
    req.end();
  });
}

/** A CONNECT tunnel request; resolves with the proxy's status line answer. */
function connect(authority: string): Promise<{ status: number; body: string }> {
  const proxyUrl = new URL(proxy.url);
  return new Promise((done, fail) => {
    const req = request({ host: proxyUrl.hostname, port: Number(proxyUrl.port), method: 'CONNECT', path: authority });
    req.on('connect', (res, socket, head: Buffer) => {
      if (res.statusCode !== 200) {
        let body = head.toString();
        socket.on('data', (chunk: Buffer) => (body += chunk.toString()));
        socket.on('end', () => done({ status: res.statusCode ?? 0, body }));
        return;
      }
      socket.write(`GET /tunnelled HTTP/1.1\r\nHost: ${authority}\r\nConnection: close\r\n\r\n`);
      let body = '';
      socket.on('data', (chunk: Buffer) => (body += chunk.toString()));
      socket.on('end', () => done({ status: 200, body }));
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('egress proxy (allowlist mode)', () => {
  it('lets an allowed local host answer through CONNECT and through plain-HTTP forwarding', async () => {
    const tunnelled = await connect(`127.0.0.1:${targetPort}`);
    expect(tunnelled.status).toBe(200);
    expect(tunnelled.body).toContain(`hello from 127.0.0.1:${targetPort} /tunnelled`);
    const forwarded = await viaProxy(`http://127.0.0.1:${targetPort}/plain?x=1`);
    expect(forwarded).toMatchObject({ status: 200, body: `hello from 127.0.0.1:${targetPort} /plain?x=1` });
  });

  it('works as HTTP(S)_PROXY for an ordinary client (undici ProxyAgent)', async () => {
    const env = proxyEnv(proxy.url, '172.30.0.1');
    expect(env).toMatchObject({ HTTPS_PROXY: proxy.url, https_proxy: proxy.url, HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1,::1,172.30.0.1' });
    const agent = new ProxyAgent(env.HTTPS_PROXY!);
    const response = await undiciFetch(`http://svc.test:${targetPort}/via-agent`, { dispatcher: agent });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`hello from svc.test:${targetPort} /via-agent`);
    await agent.close();
  });

  it('refuses hosts outside allowed_hosts with 403 and the reason, without resolving them', async () => {
    lookups.length = 0;
    const tunnelled = await connect('example.com:443');
    expect(tunnelled.status).toBe(403);
    expect(tunnelled.body).toContain('example.com:443 is not in allowed_hosts');
    const forwarded = await viaProxy('http://example.org/');
    expect(forwarded.status).toBe(403);
    expect(forwarded.reason).toBe('caged egress proxy: example.org:80 is not in allowed_hosts');
    const wrongPort = await connect(`127.0.0.1:${targetPort === 1 ? 2 : 1}`);
    expect(wrongPort.status).toBe(403);
    expect(lookups).toEqual([]);
  });

  it('refuses LLM provider hosts even when listed, pointing at the gateway', async () => {
    const answer = await connect('api.anthropic.com:443');
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('use the caged gateway');
    expect((await viaProxy('http://api.openai.com/v1/responses')).body).toContain('use the caged gateway');
  });

  it('refuses a listed name that resolves to a private or metadata address', async () => {
    const sneaky = await connect('sneaky.test:443');
    expect(sneaky.status).toBe(403);
    expect(sneaky.body).toContain('sneaky.test resolves to 10.0.0.5, a private address');
    const metadata = await viaProxy('http://metadata.test/latest/meta-data/');
    expect(metadata.status).toBe(403);
    expect(metadata.body).toContain('link-local (cloud metadata)');
    expect(decisions.filter((decision) => !decision.allowed).map((decision) => decision.host)).toEqual(expect.arrayContaining(['sneaky.test', 'metadata.test']));
  });

  it('answers 502 for listed names that do not resolve, and 400 for requests that are not proxy requests', async () => {
    const unresolvable = await startEgressProxy({ host: '127.0.0.1', allowed: ['gone.test'], resolve });
    const answer = await new Promise<number>((done) => {
      const target = new URL(unresolvable.url);
      request({ host: target.hostname, port: Number(target.port), path: 'http://gone.test/' }, (res) => done(res.statusCode ?? 0)).end();
    });
    expect(answer).toBe(502);
    await unresolvable.close();
    const proxyUrl = new URL(proxy.url);
    const direct = await new Promise<number>((done) => request({ host: proxyUrl.hostname, port: Number(proxyUrl.port), path: '/' }, (res) => done(res.statusCode ?? 0)).end());
    expect(direct).toBe(400);
  });
});
