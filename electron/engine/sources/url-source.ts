// An image at an http(s) address, streamed straight to the drive(s) while it downloads: no
// temporary file. The stored bytes go through the same content detection and decoders as a file
// (openDecodedStream), so a .img.xz link and an .img link work alike and a web page is refused —
// by its bytes: a download script's image labelled text/html is still an image.
// With `cachePath`, a complete, checksum-correct download is kept and used instead next time, as
// long as the server still has that version of the file (asked with a conditional GET).

import { BlockwiseError } from '../../../shared/errors';
import type { Reconnecting, SourceSpec } from '../../../shared/flash-types';
import { openDecodedStream, type StreamMeta } from './decoded-source';
import { openSource } from './open-source';
import type { SourceInfo, SourceReader } from './source';
import { DownloadCache, type KeptDownload } from './url-cache';
import { startDownload, startDownloadIfChanged, type Download, type Validators } from './url-download';
import { shownUrl } from './url-messages';
import { listZipAtUrl } from './url-zip';
import { chooseZipEntry } from './zip-directory';

export type UrlSpec = Extract<SourceSpec, { kind: 'url' }>;

/** The decoded download plus what only a download has: cancelling the socket, keeping the cache. */
class UrlSource implements SourceReader {
  private aborted = false;

  constructor(
    private readonly inner: SourceReader,
    private readonly download: Download,
    private readonly cache: DownloadCache | undefined,
  ) {}

  get info(): SourceInfo {
    return this.inner.info;
  }

  get finalUrl(): string {
    return this.download.url;
  }

  get storedPosition(): number {
    return this.inner.storedPosition;
  }

  async read(into: Buffer): Promise<number> {
    try {
      return await this.inner.read(into);
    } catch (error) {
      // The socket was closed because Cancel was pressed, not because the server failed.
      if (this.aborted) throw new BlockwiseError('CANCELLED', 'The flash was cancelled.');
      throw error;
    }
  }

  abort(): void {
    this.aborted = true;
    this.download.cancel();
  }

  reconnecting(): Reconnecting | undefined {
    return this.download.reconnecting;
  }

  storedSha256(): string | undefined {
    return this.inner.storedSha256?.();
  }

  async keepDownload(): Promise<void> {
    await this.cache?.keep();
  }

  async close(): Promise<void> {
    this.download.cancel();
    await this.inner.close();
    await this.cache?.discard();
  }
}

/** Whether the server calls its answer a web page (a hint only: download scripts send images as text/html). */
function typedAsPage(download: Download): boolean {
  return /^(text\/html|application\/xhtml)/i.test(download.contentType ?? '');
}

/**
 * A zip download: its directory (range requests) says before anything is written whether it holds
 * exactly the image wanted, and that image's size. Without ranges the stream decides, as it goes.
 */
async function checkZipEntry(inner: SourceReader, download: Download, spec: UrlSpec, meta: StreamMeta): Promise<void> {
  const entries = await listZipAtUrl(download.url, download.contentLength!, shownUrl(spec.url));
  if (!entries) return;
  const chosen = chooseZipEntry(entries, shownUrl(spec.url), spec.entry);
  // An older entry of the same name comes first, and the stream meets that one: it decides, as it goes.
  if (entries.filter((e) => e.name === chosen.name).length > 1) return;
  // The entry's size is the image's unless the entry is itself compressed (a zip of an .img.xz).
  if (inner.info.size === undefined && inner.info.formats.length === 1) inner.info.size = chosen.size;
  inner.info.entry ??= chosen.name;
  // The directory has answered: the stream need not read past the image looking for another.
  meta.entry ??= chosen.name;
  meta.entryIsFinal = true;
}

/** Whether a 200 answer is the very file that was kept (a server ignoring the conditions). */
function sameVersion(kept: Validators, now: Validators): boolean {
  if (kept.size !== undefined && now.size !== undefined && kept.size !== now.size) return false;
  if (kept.etag && now.etag) return kept.etag === now.etag && !kept.etag.startsWith('W/');
  return kept.lastModified !== undefined && kept.lastModified === now.lastModified;
}

/**
 * The kept download when the server still has that version (304, or the same validators), or when
 * the server cannot be asked (offline: the kept copy was complete and checked); else the download
 * of the new version. Without ETag or Last-Modified nothing tells the version: download again.
 */
async function keptOrFresh(spec: UrlSpec, kept: KeptDownload): Promise<string | Download> {
  if (!kept.validators.etag && !kept.validators.lastModified) return startDownload(spec.url);
  let answer: Download | 'unchanged';
  try {
    answer = await startDownloadIfChanged(spec.url, kept.validators);
  } catch {
    return kept.path;
  }
  if (answer === 'unchanged') return kept.path;
  if (!sameVersion(kept.validators, answer.validators)) return answer;
  answer.cancel();
  return kept.path;
}

export async function openUrlSource(spec: UrlSpec): Promise<SourceReader> {
  const kept = spec.cachePath ? await DownloadCache.existing(spec.cachePath, spec.url) : undefined;
  const fresh = kept ? await keptOrFresh(spec, kept) : await startDownload(spec.url);
  if (typeof fresh === 'string') {
    const fileSpec: SourceSpec = { kind: 'file', path: fresh };
    if (spec.entry !== undefined) fileSpec.entry = spec.entry;
    return openSource(fileSpec);
  }
  const download = fresh;
  let cache: DownloadCache | undefined;
  try {
    cache = spec.cachePath ? await DownloadCache.start(spec.cachePath, spec.url, download.validators) : undefined;
    const bytes = cache ? cache.tee(download.body) : download.body;
    // Messages name the address with any password in it masked.
    const meta: StreamMeta = { name: shownUrl(spec.url), path: shownUrl(spec.url) };
    if (download.contentLength !== undefined) meta.storedSize = download.contentLength;
    if (spec.entry !== undefined) meta.entry = spec.entry;
    const inner = await openDecodedStream(bytes, meta);
    try {
      if (inner.info.formats[0] === 'zip' && download.contentLength !== undefined) await checkZipEntry(inner, download, spec, meta);
    } catch (error) {
      await inner.close();
      throw error;
    }
    return new UrlSource(inner, download, cache);
  } catch (error) {
    download.cancel();
    await cache?.discard();
    // The content decides; a text answer the server calls a page is one (a sign-in page, a listing).
    const page = error instanceof BlockwiseError && (/web page/.test(error.message) || (typedAsPage(download) && error.message.startsWith(`${shownUrl(spec.url)} is a text file`)));
    if (error instanceof BlockwiseError && error.code === 'SOURCE_NOT_IMAGE' && page) {
      throw new BlockwiseError('SOURCE_NOT_IMAGE', `The URL returned a web page, not a disk image: ${shownUrl(spec.url)}. Copy the link of the image file itself.`, {
        ...error.details,
      });
    }
    throw error;
  }
}
