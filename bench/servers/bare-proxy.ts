// The floor for the overhead benchmark: a plain Node reverse proxy (node:http in, undici out,
// bytes piped both ways, no parsing, no metering), in its own process. Prints {"url"} once listening.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';

const upstream = process.env.BENCH_UPSTREAM_URL!;
const dispatcher = new Agent({ keepAliveTimeout: 30_000 });
const server = createServer((req, res) => {
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name))) as Record<string, string>;
  request(`${upstream}${req.url}`, { method: 'POST', headers, body: req, dispatcher })
    .then(async (answer) => {
      const { 'content-length': _length, connection: _connection, 'keep-alive': _keepAlive, 'transfer-encoding': _encoding, ...rest } = answer.headers;
      res.writeHead(answer.statusCode, rest as Record<string, string>);
      await pipeline(answer.body, res);
    })
    .catch(() => res.destroy());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
