// Servers compress responses on the way (Content-Encoding) although Blockwise asks for
// `identity`: some ignore Accept-Encoding, others label a stored .gz file "Content-Encoding: gzip"
// (S3 object metadata, nginx gzip_static). A publisher's checksum describes the file as stored, so
// the transfer coding is undone here — unless the body *is* that stored .gz, which only its name or
// Content-Type tells: undoing it would leave the bare image, and the .gz's published SHA-256 would
// then never match. A .gz compressed once more on the way still decodes to gzip, and is undone.

import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { BlockwiseError } from '../../../shared/errors';

export type TransferCoding = 'gzip' | 'deflate' | 'br';

/** The Content-Encoding to undo, 'identity' for none; anything else is returned as sent. */
export function transferCoding(headers: IncomingHttpHeaders): TransferCoding | 'identity' | string {
  const coding = (headers['content-encoding'] ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return 'identity';
  if (coding === 'x-gzip') return 'gzip';
  return coding;
}

export function isUndoable(coding: string): coding is TransferCoding {
  return coding === 'gzip' || coding === 'deflate' || coding === 'br';
}

/** Whether the file itself is a gzip file by its name (address or Content-Disposition) or type. */
export function namedGzip(headers: IncomingHttpHeaders, url: URL): boolean {
  if (/\.(t?gz|gzip)$/i.test(url.pathname)) return true;
  if (/^application\/(x-)?gzip\b/i.test(headers['content-type'] ?? '')) return true;
  return /filename\*?\s*=[^;]*\.(t?gz|gzip)["']?\s*(;|$)/i.test(headers['content-disposition'] ?? '');
}

/** Whether the first bytes of a gzip body decode to gzip again (a .gz compressed on the way). */
export function decodesToGzip(first: Buffer | undefined): boolean {
  if (!first) return false;
  try {
    const head = zlib.gunzipSync(first, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  } catch {
    return false;
  }
}

/** Whether two bytes open a zlib stream (RFC 1950: deflate method, header check a multiple of 31). */
function zlibHeader(first: Buffer): boolean {
  return first.length >= 2 && (first[0]! & 0x0f) === 8 && (first[0]! * 256 + first[1]!) % 31 === 0;
}

/** The first chunk, then the rest of `body` (so a decoder can be picked by the first bytes). */
async function* withFirst(first: IteratorResult<Buffer>, rest: AsyncIterator<Buffer>): AsyncIterable<Buffer> {
  if (first.done) return;
  yield first.value;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** The body with the transfer coding undone; decoder errors go through `failure` (with bytes given so far). */
export async function* undoCoding(coding: TransferCoding, body: AsyncIterable<Buffer>, failure: (error: Error) => Error): AsyncIterable<Buffer> {
  const chunks = body[Symbol.asyncIterator]();
  const first = await chunks.next();
  // HTTP's "deflate" is zlib-wrapped deflate, but some servers send bare deflate under that name.
  const bare = coding === 'deflate' && !first.done && !zlibHeader(first.value);
  const decoder =
    coding === 'br' ? zlib.createBrotliDecompress() : coding === 'deflate' ? (bare ? zlib.createInflateRaw() : zlib.createInflate()) : zlib.createGunzip();
  const input = Readable.from(withFirst(first, chunks), { objectMode: false });
  // A broken download is reported as such, not as a damaged encoding.
  input.on('error', (error) => decoder.destroy(error));
  input.pipe(decoder);
  try {
    for await (const chunk of decoder) yield chunk as Buffer;
  } catch (error) {
    if (error instanceof BlockwiseError) throw error;
    throw failure(error as Error);
  } finally {
    input.destroy();
    decoder.destroy();
  }
}
