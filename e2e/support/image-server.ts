// A small web server for the URL specs: serves the files of one folder on 127.0.0.1 at a random
// port, as a download site would (Content-Length, octet-stream, byte ranges), optionally paced so
// a download lasts long enough to be watched. Like real servers it sends ETag and Last-Modified and
// answers a conditional GET for an unchanged file with 304. Counts requests per path that it
// answered with the file, so a spec can tell what was fetched.

import { createReadStream, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface ImageServer {
  url(name: string): string;
  /** Requests for `name` answered with (part of) the file so far, not 304 (the app also asks for .sha256 / SHA256SUMS beside it). */
  hits(name: string): number;
  stop(): Promise<void>;
}

export interface ServeOptions {
  bytesPerSecond?: number;
  /** Every whole-file answer breaks off (the connection is closed) after this many bytes. */
  breakAt?: number;
  /** A request for the rest of a file (Range with If-Range) waits this long before it is answered. */
  resumeDelayMs?: number;
  /** Whole-file answers to a path's request number `holdFrom` (1-based) and later wait `holdMs` first. */
  holdFrom?: number;
  holdMs?: number;
  /** Answer as a server without byte ranges does: Range is ignored, no Accept-Ranges is sent. */
  noRanges?: boolean;
}

export async function serveFolder(dir: string, options: ServeOptions = {}): Promise<ImageServer> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    const file = path.join(dir, path.basename(name));
    let size: number;
    let etag: string;
    let lastModified: string;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a file');
      size = stat.size;
      etag = `"${stat.mtimeMs.toString(16)}-${size.toString(16)}"`;
      lastModified = stat.mtime.toUTCString();
    } catch {
      hits.set(name, (hits.get(name) ?? 0) + 1);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'last-modified': lastModified }).end();
      return;
    }
    hits.set(name, (hits.get(name) ?? 0) + 1);
    // A range (a zip's directory, read from its end; the rest of a broken download) is answered
    // unpaced; If-Range naming another version gets the whole file, as HTTP says.
    const range = options.noRanges ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && (ifRange === undefined || ifRange === etag || ifRange === lastModified)) {
      const [start, end] = [Number(range[1]), range[2] ? Math.min(Number(range[2]), size - 1) : size - 1];
      if (start <= end) {
        const answer = () => {
          res.writeHead(206, { 'content-type': 'application/octet-stream', 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}`, etag });
          createReadStream(file, { start, end }).pipe(res);
        };
        if (ifRange !== undefined && options.resumeDelayMs) setTimeout(answer, options.resumeDelayMs);
        else answer();
        return;
      }
    }
    const sendWhole = () => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size, ...(options.noRanges ? {} : { 'accept-ranges': 'bytes' }), etag, 'last-modified': lastModified });
      const rate = options.bytesPerSecond;
      const stream = createReadStream(file, { highWaterMark: 256 * 1024, end: options.breakAt === undefined ? undefined : options.breakAt - 1 });
      // Broken off: what was sent so far, then the connection closes.
      if (options.breakAt !== undefined) stream.on('end', () => setTimeout(() => res.socket?.destroy(), 50));
      if (!rate) {
        stream.pipe(res, { end: options.breakAt === undefined });
        return;
      }
      // Paced: each chunk waits as long as it would take at `rate`.
      stream.on('data', (chunk) => {
        stream.pause();
        // Resume once both the pause has passed and the socket has taken the chunk.
        const drained = res.write(chunk) ? Promise.resolve() : new Promise((resolve) => res.once('drain', resolve));
        const waited = new Promise((resolve) => setTimeout(resolve, (chunk.length / rate) * 1000));
        void Promise.all([drained, waited]).then(() => stream.resume());
      });
      if (options.breakAt === undefined) stream.on('end', () => res.end());
      res.on('close', () => stream.destroy());
    };
    if (options.holdFrom !== undefined && hits.get(name)! >= options.holdFrom) {
      const held = setTimeout(sendWhole, options.holdMs ?? 0);
      res.on('close', () => clearTimeout(held));
      return;
    }
    sendWhole();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (name) => `${base}/${encodeURIComponent(name)}`,
    hits: (name) => hits.get(name) ?? 0,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
