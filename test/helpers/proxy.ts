/**
 * A fault-injecting HTTP proxy for the fault, concurrency and security tests: point
 * AWS_ENDPOINT_URL_S3 (or _SES) at it and it forwards every request to the emulator, unless
 * `onRequest` decides otherwise: answer with an error as the real service would (403 from a
 * bucket policy, 412 from a lost conditional write, 400 from SES), drop the connection, or
 * forward and cut the response body after N bytes (the service going away mid-read).
 * When the upstream cannot be reached (emulator stopped) the client's connection is dropped,
 * as a lost network does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Decoded path without the query, e.g. "/bucket/prefix/key" for path-style S3. */
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type ProxyAction =
  | 'forward'
  | 'drop'
  | { status: number; headers?: Record<string, string>; body: string }
  // `after`, not `then`: an action with a then() method would be awaited as a promise.
  | { cutAfterBytes: number; after?: () => Promise<void> };

export interface Proxy {
  endpoint: string;
  /** Every request seen, in arrival order. */
  requests: ProxiedRequest[];
  onRequest: ((r: ProxiedRequest) => ProxyAction | Promise<ProxyAction>) | undefined;
  close(): Promise<void>;
}

/** An S3-style XML error body, as S3 answers (the SDK reads Code and Message from it). */
export function s3Error(status: number, code: string, message: string): ProxyAction {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>proxy</RequestId></Error>`,
  };
}

export async function startProxy(upstream: string): Promise<Proxy> {
  const target = new URL(upstream);
  const proxy: Proxy = { endpoint: '', requests: [], onRequest: undefined, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://proxy');
        const r: ProxiedRequest = {
          method: req.method ?? 'GET',
          path: decodeURIComponent(url.pathname),
          query: url.search,
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        proxy.requests.push(r);
        const action = (await proxy.onRequest?.(r)) ?? 'forward';
        if (action === 'drop') return void req.socket.destroy();
        if (typeof action === 'object' && 'status' in action) {
          res.writeHead(action.status, action.headers);
          return void res.end(action.body);
        }
        const headers = { ...req.headers, host: target.host };
        delete headers.expect; // the body is already here; no 100-continue dance upstream
        const up = http.request(
          { host: target.hostname, port: target.port, method: r.method, path: req.url, headers, agent: false },
          (ur) => {
            res.writeHead(ur.statusCode ?? 502, ur.headers);
            if (typeof action === 'object' && 'cutAfterBytes' in action) {
              let sent = 0;
              ur.on('data', (c: Buffer) => {
                if (sent >= action.cutAfterBytes) return;
                const part = c.subarray(0, action.cutAfterBytes - sent);
                sent += part.length;
                res.write(part);
                if (sent >= action.cutAfterBytes) {
                  ur.destroy();
                  // Let the bytes reach the client, then take the service away and drop the connection.
                  setTimeout(() => void (action.after?.() ?? Promise.resolve()).then(() => req.socket.destroy()), 20);
                }
              });
            } else ur.pipe(res);
          },
        );
        up.on('error', () => req.socket.destroy());
        up.end(r.body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
