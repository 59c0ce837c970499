// One HTTP(S) download as a stream of stored bytes, pulled by the writer: backpressure comes from
// the drive, so nothing is buffered beyond the socket's own window. Redirects are followed (up to
// a limit); a connection that breaks mid-body is resumed where the server allows it
// (RESUME_PAUSES_MS); every failure is DOWNLOAD_FAILED naming the address, the HTTP status or the
// byte the connection broke at (in words: url-messages.ts). Node's own http/https: no dependency,
// same behaviour in Electron's Node.

import type { IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import { BlockwiseError } from '../../../shared/errors';
import type { Reconnecting } from '../../../shared/flash-types';
import { connectFailure, shownUrl, statusHint } from './url-messages';
import { decodesToGzip, isUndoable, namedGzip, transferCoding, undoCoding } from './url-encoding';

export const MAX_REDIRECTS = 10;
/** No byte for this long (connecting or mid-body) ends the download instead of hanging forever. */
export const IDLE_TIMEOUT_MS = 60_000;
/**
 * A connection that breaks mid-body is picked up where it stopped (a Range request with If-Range,
 * so a file changed meanwhile is never spliced onto the old one's start), after these pauses, up
 * to one attempt per entry in a row; any byte received starts the count again.
 */
export const RESUME_PAUSES_MS = [500, 1000, 2000, 4000, 8000];
/** Optional side files (checksums, maps) may delay a flash only this long. */
const SMALL_FILE_TIMEOUT_MS = 10_000;

export interface Download {
  /** Address after redirects. */
  url: string;
  contentLength?: number;
  contentType?: string;
  /** The Content-Disposition header, which may name the file better than the address does. */
  contentDisposition?: string;
  /** What identifies this version of the file (a kept download is reused only while they match). */
  validators: Validators;
  /** The body; errors are DOWNLOAD_FAILED with `offset` = bytes received before the failure. */
  body: AsyncIterable<Buffer>;
  /** Bytes of the body received so far. */
  readonly received: number;
  /** While a broken connection is being resumed: where it broke, and which attempt this is. */
  readonly reconnecting: Reconnecting | undefined;
  /** Stops the download (idempotent). */
  cancel(): void;
}

/** ETag and Last-Modified as the server sent them, and the size of the file as stored. */
export interface Validators {
  etag?: string;
  lastModified?: string;
  size?: number;
}

function failed(message: string, url: string, details: Record<string, string | number | boolean> = {}): BlockwiseError {
  return new BlockwiseError('DOWNLOAD_FAILED', message, { path: shownUrl(url), ...details });
}

function get(url: URL, idleTimeoutMs: number, extraHeaders: Record<string, string> = {}, started?: (request: http.ClientRequest) => void): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const headers = { 'user-agent': 'Blockwise', 'accept-encoding': 'identity', ...extraHeaders };
    let response: IncomingMessage | undefined;
    const request = client.get(url, { headers, timeout: idleTimeoutMs }, (answer) => resolve((response = answer)));
    started?.(request);
    request.on('timeout', () => {
      // The body is read from the response: it must fail with this reason, not a bare "aborted".
      const silent = new Error(`the server sent nothing for ${idleTimeoutMs / 1000} s`);
      response?.destroy(silent);
      request.destroy(silent);
    });
    request.on('error', reject);
  });
}

/** A 206 nobody asked for that still carries the whole file (`bytes 0-(N-1)/N`: some CDNs and proxies). */
function wholeFileRange(contentRange: string | undefined): boolean {
  const range = /^bytes 0-(\d+)\/(\d+)$/.exec(contentRange ?? '');
  return range !== null && Number(range[1]) + 1 === Number(range[2]);
}

function parseUrl(address: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(address, base);
  } catch {
    throw failed(`"${shownUrl(address)}" is not a web address.`, address);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw failed(`${shownUrl(url)} is not an http:// or https:// address.`, url.href);
  }
  // Browsers block this too: what a secure link promises must not come over a plain connection,
  // where anyone on the way could swap the image.
  if (base?.protocol === 'https:' && url.protocol === 'http:') {
    throw failed(`${shownUrl(base)} redirects to ${shownUrl(url)}, an unencrypted address; Blockwise does not follow a secure link to an insecure one. Use the http:// address yourself if you trust the network.`, base.href);
  }
  return url;
}

/** Connects, follows redirects and checks the status; the body is not read yet. */
export async function startDownload(address: string, idleTimeoutMs = IDLE_TIMEOUT_MS): Promise<Download> {
  return (await connect(address, idleTimeoutMs)) as Download;
}

/**
 * The download, or 'unchanged' when the server says (304) the file still is the version `known`
 * describes: a conditional GET, so a changed file costs no second request.
 */
export async function startDownloadIfChanged(address: string, known: Validators): Promise<Download | 'unchanged'> {
  const conditions: Record<string, string> = {};
  if (known.etag) conditions['if-none-match'] = known.etag;
  if (known.lastModified) conditions['if-modified-since'] = known.lastModified;
  return connect(address, IDLE_TIMEOUT_MS, conditions);
}

async function connect(address: string, idleTimeoutMs: number, conditions: Record<string, string> = {}): Promise<Download | 'unchanged'> {
  let url = parseUrl(address);
  let response: IncomingMessage;
  for (let hops = 0; ; hops++) {
    try {
      response = await get(url, idleTimeoutMs, conditions);
    } catch (error) {
      throw failed(`Could not download ${shownUrl(url)}: ${connectFailure(error as Error, url)}.`, url.href, { offset: 0 });
    }
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.destroy();
      if (hops >= MAX_REDIRECTS) throw failed(`${shownUrl(address)} redirects more than ${MAX_REDIRECTS} times; giving up.`, address, { status });
      url = parseUrl(location, url);
      continue;
    }
    if (status === 304 && Object.keys(conditions).length > 0) {
      response.destroy();
      return 'unchanged';
    }
    if (status !== 200 && !(status === 206 && wholeFileRange(response.headers['content-range']))) {
      response.destroy();
      const answered = `${status} ${response.statusMessage ?? ''}`.trim();
      // After redirects the address failing is not the one the person gave: name both.
      const from = url.href === parseUrl(address).href ? '' : ` (redirected from ${shownUrl(address)})`;
      throw failed(`The server answered ${answered} for ${shownUrl(url)}${from}${statusHint(status, response.headers)}.`, url.href, { status });
    }
    break;
  }
  const lengthHeader = response.headers['content-length'];
  const wireLength = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  const href = url.href;
  const shown = shownUrl(url);
  const coding = transferCoding(response.headers);
  if (coding !== 'identity' && !isUndoable(coding)) {
    response.destroy();
    throw failed(`The server sent ${shown} compressed as "${coding}" (Content-Encoding), which Blockwise cannot undo.`, href, { offset: 0 });
  }
  const firstChunks = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  // A stored .gz labelled gzip on the way is the file itself; look at its first bytes to tell.
  let peeked: Buffer | undefined;
  if (coding === 'gzip' && namedGzip(response.headers, url)) {
    try {
      const first = await firstChunks.next();
      peeked = first.done ? undefined : first.value;
    } catch (error) {
      response.destroy();
      throw failed(`Could not download ${shown}: ${(error as Error).message}.`, href, { offset: 0 });
    }
  }
  const undo = isUndoable(coding) && !(coding === 'gzip' && namedGzip(response.headers, url) && !decodesToGzip(peeked)) ? coding : undefined;
  // The announced length is of the bytes on the wire; undone, the file's own size is unknown.
  const contentLength = undo ? undefined : wireLength;
  let received = 0;
  // Resumable: the file's own bytes, of known length, from a server that serves ranges of it and
  // says which version it is (a weak ETag does not promise the same bytes: If-Range refuses it).
  const etag = typeof response.headers.etag === 'string' && !response.headers.etag.startsWith('W/') ? response.headers.etag : undefined;
  const version = etag ?? response.headers['last-modified'];
  const resumable = undo === undefined && coding === 'identity' && wireLength !== undefined && response.headers['accept-ranges'] === 'bytes' && version !== undefined;
  let current = response;
  /** A resume's request not answered yet (Cancel must not wait for it to connect or time out). */
  let asking: http.ClientRequest | undefined;
  let cancelled = false;
  /** Attempts to resume since the last byte arrived. */
  let attempts = 0;
  let reconnecting: Reconnecting | undefined;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const broke = (why: string) =>
    failed(`The download of ${shown} broke off at byte ${received}${wireLength ? ` of ${wireLength}` : ''}: ${why}.`, href, { offset: received });

  /** The rest of the file from byte `received`, on a new connection; throws what to report when it cannot be had. */
  async function resume(why: string): Promise<AsyncIterator<Buffer>> {
    let last = 'no byte came after the last one';
    while (attempts < RESUME_PAUSES_MS.length) {
      reconnecting = { atByte: received, attempt: attempts + 1, attempts: RESUME_PAUSES_MS.length, reason: why };
      await pause(RESUME_PAUSES_MS[attempts++]!);
      if (cancelled) throw broke(why);
      let answer: IncomingMessage;
      try {
        answer = await get(url, idleTimeoutMs, { range: `bytes=${received}-`, 'if-range': version! }, (request) => (asking = request));
      } catch (error) {
        if (cancelled) throw broke(why);
        last = connectFailure(error as Error, url);
        continue;
      } finally {
        asking = undefined;
      }
      const status = answer.statusCode ?? 0;
      if (status === 206 && answer.headers['content-range'] === `bytes ${received}-${wireLength! - 1}/${wireLength}`) {
        current = answer;
        if (cancelled) answer.destroy();
        return answer[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      }
      answer.destroy();
      if (status >= 500 || status === 408 || status === 429) {
        last = `the server answered ${status}`;
        continue;
      }
      // 200: the whole file again, as If-Range asks when the file is no longer that version.
      const instead = status === 200 ? 'the server sent the whole file again, not the rest (it may have changed since the download began)' : `the server answered ${status} to a request for the rest`;
      throw broke(`${why}; it could not be resumed: ${instead}`);
    }
    throw broke(`${why}; ${RESUME_PAUSES_MS.length} attempts in a row to resume it failed (last: ${last})`);
  }

  async function* wire(): AsyncIterable<Buffer> {
    let chunks = firstChunks;
    try {
      if (peeked) {
        received += peeked.length;
        yield peeked;
      }
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (error) {
          const why = (error as Error).message === 'aborted' ? 'the connection was closed' : (error as Error).message;
          if (!resumable || cancelled) throw broke(why);
          try {
            chunks = await resume(why);
          } finally {
            reconnecting = undefined;
          }
          continue;
        }
        if (next.done) break;
        if (next.value.length > 0) attempts = 0;
        received += next.value.length;
        yield next.value;
      }
    } finally {
      current.destroy();
    }
    if (wireLength !== undefined && received !== wireLength) {
      throw failed(`The download of ${shown} ended at byte ${received}, but the server announced ${wireLength} bytes.`, href, { offset: received });
    }
  }
  const body = undo
    ? undoCoding(undo, wire(), (error) =>
        failed(`The ${undo} compression the server applied to ${shown} is damaged at byte ${received} of the download: ${error.message}.`, href, { offset: received }),
      )
    : wire();

  const validators: Validators = {};
  if (typeof response.headers.etag === 'string') validators.etag = response.headers.etag;
  if (response.headers['last-modified']) validators.lastModified = response.headers['last-modified'];
  if (contentLength !== undefined) validators.size = contentLength;
  const download: Download = {
    url: href,
    body,
    validators,
    get received() {
      return received;
    },
    get reconnecting() {
      return reconnecting;
    },
    cancel: () => {
      cancelled = true;
      current.destroy();
      asking?.destroy(new Error('cancelled'));
      wake?.();
    },
  };
  if (contentLength !== undefined) download.contentLength = contentLength;
  const type = response.headers['content-type'];
  if (type) download.contentType = type;
  const disposition = response.headers['content-disposition'];
  if (disposition) download.contentDisposition = disposition;
  return download;
}

/**
 * A small file fetched whole (a .sha256, SHA256SUMS, .bmap published beside an image), or
 * undefined when there is none: any failure, a web page (servers that answer 200 with an HTML
 * "not found"), or more than `limit` bytes. Looking for optional files must never fail a flash.
 */
export async function fetchSmallFile(address: string, limit: number): Promise<Buffer | undefined> {
  let download: Download;
  try {
    download = await startDownload(address, SMALL_FILE_TIMEOUT_MS);
  } catch {
    return undefined;
  }
  try {
    if (/^(text\/html|application\/xhtml)/i.test(download.contentType ?? '')) return undefined;
    if ((download.contentLength ?? 0) > limit) return undefined;
    const parts: Buffer[] = [];
    let length = 0;
    for await (const chunk of download.body) {
      length += chunk.length;
      if (length > limit) return undefined;
      parts.push(chunk);
    }
    return Buffer.concat(parts);
  } catch {
    return undefined;
  } finally {
    download.cancel();
  }
}

/**
 * `length` bytes at `start` of the file at `address`, by an HTTP range request (redirects
 * followed); undefined when the server does not serve ranges (or anything fails): callers then do
 * without (a zip's directory read from its end, before anything is written).
 */
export async function fetchRange(address: string, start: number, length: number): Promise<Buffer | undefined> {
  if (length <= 0 || length > 64 * 1024 * 1024) return undefined;
  let url: URL;
  try {
    url = parseUrl(address);
  } catch {
    return undefined;
  }
  for (let hops = 0; hops <= MAX_REDIRECTS; hops++) {
    let response: IncomingMessage;
    try {
      response = await get(url, SMALL_FILE_TIMEOUT_MS, { range: `bytes=${start}-${start + length - 1}` });
    } catch {
      return undefined;
    }
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.destroy();
      try {
        url = parseUrl(location, url);
      } catch {
        return undefined;
      }
      continue;
    }
    // 200 is the whole file: a server without ranges. Only the exact range asked for is used, and
    // only of the file itself (a range of a compressed transfer is not the file's bytes).
    if (transferCoding(response.headers) !== 'identity') {
      response.destroy();
      return undefined;
    }
    const range = /^bytes (\d+)-(\d+)\//.exec(response.headers['content-range'] ?? '');
    if (status !== 206 || !range || Number(range[1]) !== start || Number(range[2]) !== start + length - 1) {
      response.destroy();
      return undefined;
    }
    try {
      const parts: Buffer[] = [];
      let received = 0;
      for await (const chunk of response) {
        parts.push(chunk as Buffer);
        received += (chunk as Buffer).length;
        if (received > length) return undefined;
      }
      return received === length ? Buffer.concat(parts) : undefined;
    } catch {
      return undefined;
    } finally {
      response.destroy();
    }
  }
  return undefined;
}

/**
 * The file name an http(s) address ends in, and how to address its siblings in the same folder
 * (where .sha256, SHA256SUMS and .bmap files are published); undefined when there is no name.
 */
export function urlSiblings(address: string): { imageName: string; sibling: (name: string) => string } | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return undefined;
  }
  const imageName = decodeURIComponent(url.pathname.split('/').pop() ?? '');
  if (imageName === '') return undefined;
  return { imageName, sibling: (name) => new URL(encodeURIComponent(name), url).href };
}
