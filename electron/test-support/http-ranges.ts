// Answers a test server's request for `body` as real file servers do: a `Range: bytes=a-b` header
// gets 206 with that slice and a Content-Range; anything else gets the whole body with 200.

import type * as http from 'node:http';

export function sendWithRanges(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, headers: http.OutgoingHttpHeaders = {}): void {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : body.length - 1, body.length - 1);
    if (start > end) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` });
      res.end();
      return;
    }
    res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${body.length}`, 'accept-ranges': 'bytes' });
    res.end(body.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': body.length, 'accept-ranges': 'bytes' });
  res.end(body);
}
