import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Shared plumbing of the fake provider servers: recording, SSE writing, fault injection. */

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Path with the query string, as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: unknown;
}

/**
 * What can go wrong with an answer. `status` answers at once with an error; the others start a
 * normal 200 answer and then misbehave.
 */
export type FakeFault =
  /** An error response (body defaults to the provider's error shape for the status). */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Wait this long before sending the response head. */
  | { kind: 'slow-headers'; delayMs: number }
  /** After this many SSE events, send half of the next one and drop the connection. */
  | { kind: 'cut'; afterEvents: number }
  /** After this many SSE events, send one event whose data is not JSON, then carry on. */
  | { kind: 'malformed'; afterEvents: number }
  /** After this many SSE events, go silent with the connection open (until the server closes). */
  | { kind: 'hang'; afterEvents: number };

export interface StreamShape {
  /** Re-chunk the stream's bytes into pieces of this size (splitting events anywhere); default: one write per event. */
  chunkBytes?: number;
  /** Pause between writes. */
  delayMs?: number;
}

export interface SseFrame {
  event?: string;
  data: unknown;
}

export function frame(event: SseFrame): string {
  const data = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
  return `${event.event === undefined ? '' : `event: ${event.event}\n`}data: ${data}\n\n`;
}

export interface FakeServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startFakeServer(host: string, port: number, handle: (req: IncomingMessage, res: ServerResponse, request: RecordedRequest) => Promise<void>): Promise<FakeServer> {
  const server = createServer((req, res) => {
    void readRequest(req)
      .then((request) => handle(req, res, request))
      .catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`fake server error: ${(error as Error).message}`);
        } else {
          res.destroy();
        }
      });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readRequest(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  try {
    body = rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch {
    body = undefined;
  }
  const url = req.url ?? '/';
  return { method: req.method ?? 'GET', path: url.split('?')[0]!, url, headers: { ...req.headers }, rawBody, body };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** Writes SSE frames with the given shape, applying a mid-stream fault if any. */
export async function sendSse(res: ServerResponse, frames: SseFrame[], shape: StreamShape, fault: FakeFault | undefined, headers: Record<string, string>): Promise<void> {
  if (fault?.kind === 'slow-headers') await sleep(fault.delayMs);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
  const pieces: string[] = [];
  for (const [index, event] of frames.entries()) {
    if (fault?.kind === 'cut' && index === fault.afterEvents) {
      const next = frame(event);
      pieces.push(next.slice(0, Math.ceil(next.length / 2)));
      break;
    }
    if (fault?.kind === 'hang' && index === fault.afterEvents) break;
    if (fault?.kind === 'malformed' && index === fault.afterEvents) pieces.push(`event: ${event.event ?? 'message'}\ndata: {"type": "garbage", oops\n\n`);
    pieces.push(frame(event));
  }
  const writes = shape.chunkBytes ? rechunk(Buffer.from(pieces.join('')), shape.chunkBytes) : pieces.map((piece) => Buffer.from(piece));
  for (const bytes of writes) {
    if (res.destroyed) return;
    res.write(bytes);
    if (shape.delayMs) await sleep(shape.delayMs);
  }
  if (fault?.kind === 'cut') {
    // Let what was written reach the client, then drop the connection without ending the response.
    await new Promise<void>((resolve) => res.write('', () => resolve()));
    await sleep(20);
    res.socket?.destroy();
    return;
  }
  if (fault?.kind === 'hang') return;
  res.end();
}

function rechunk(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/** Splits text into pieces of about `size` characters, as providers stream deltas. */
export function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out.length > 0 ? out : [''];
}

/** A rough token count for default usage figures: four bytes a token. */
export function roughTokens(text: string): number {
  return Math.max(1, Math.ceil(Buffer.byteLength(text, 'utf8') / 4));
}

export function header(request: RecordedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
