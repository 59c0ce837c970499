// The browser host: the built renderer over HTTP and the contract over one WebSocket, on
// 127.0.0.1 only. Same services and engine as the Electron app; see web-security.ts for the door.

import { createReadStream } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { WebSocketServer } from 'ws';
import { MAX_CLIENT_FRAME_BYTES, TOKEN_PARAM, WS_PATH } from '../../shared/ws-protocol';
import { createContractHandlers } from '../host/contract-handlers';
import type { HostServices } from '../host/host-services';
import { resolveStatic } from './static-files';
import { checkUpgrade, hostHeaderAllowed, newToken, securityHeaders, tokenMatches } from './web-security';
import { attachSession } from './ws-session';

export const LISTEN_ADDRESS = '127.0.0.1';

export interface WebHostOptions {
  services: HostServices;
  /** 0 picks a free port. */
  port: number;
  /** Folder with the built renderer's index.html (default dist/renderer). */
  rendererDir?: string;
  token?: string;
}

export interface WebHost {
  port: number;
  token: string;
  url: string;
  close(): Promise<void>;
}

export function defaultRendererDir(): string {
  // dist/electron/web/web-host.js → dist/renderer
  return path.resolve(__dirname, '..', '..', 'renderer');
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const token = options.token ?? newToken();
  const root = path.resolve(options.rendererDir ?? defaultRendererDir());
  const handlers = createContractHandlers(options.services, { host: 'web' });
  let port = options.port;

  const server = http.createServer((req, res) => {
    void serveHttp(req, res);
  });
  async function serveHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const headers = securityHeaders(port);
    if (!hostHeaderAllowed(req.headers.host, port)) {
      res.writeHead(403, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('Forbidden: unexpected Host header.\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', `http://${LISTEN_ADDRESS}`);
    if (url.pathname === WS_PATH) {
      // A page whose socket is turned away asks here why (a browser does not say): 401 means its
      // token is wrong, as after a restart of this host, and waiting will not mend it.
      const ok = tokenMatches(url.searchParams.get(TOKEN_PARAM), token);
      res
        .writeHead(ok ? 426 : 401, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', ...(ok ? { Upgrade: 'websocket' } : {}) })
        .end(ok ? 'Upgrade Required: this address is the WebSocket.\n' : 'Unauthorized: missing or wrong token.\n');
      return;
    }
    const found = await resolveStatic(root, url.pathname);
    if (!found) {
      const hint = url.pathname === '/' ? ` The renderer is not built in ${root}: run npm run build:web.` : '';
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(`Not found.${hint}\n`);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': found.type, 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(found.file).on('error', () => res.destroy()).pipe(res);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${LISTEN_ADDRESS}`);
    const verdict = url.pathname === WS_PATH ? checkUpgrade(req, port, token) : ({ ok: false, status: 403, reason: 'not the socket path' } as const);
    if (!verdict.ok) {
      const text = verdict.status === 401 ? 'Unauthorized' : 'Forbidden';
      socket.end(`HTTP/1.1 ${verdict.status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${text}: ${verdict.reason}.\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attachSession(ws, handlers, options.services.bus));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, LISTEN_ADDRESS, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  options.services.drives.start();

  return {
    port,
    token,
    url: `http://${LISTEN_ADDRESS}:${port}/?${TOKEN_PARAM}=${token}`,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
