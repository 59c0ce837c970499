// Keeps a download for the next flash. Bytes go to a private `.part` file while they stream to the
// drive; the file takes the cache's name only once the download is complete and has passed its
// checksum (keep), so a half or wrong download can never be mistaken for a good one. Failing to
// write the cache (disk full) only turns caching off: the flash itself does not depend on it.
// A record beside it (`NAME.json`: address, size, ETag, Last-Modified) is written last: a kept file
// without one, or of another size (cut short since), is not trusted, and the validators let the
// next flash ask the server whether the file has changed since (url-source.ts).

import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Validators } from './url-download';

/** What the record beside a kept download says. */
export interface KeptDownload {
  path: string;
  url: string;
  validators: Validators;
}

const recordPath = (cachePath: string) => `${cachePath}.json`;

export class DownloadCache {
  private handle: fsp.FileHandle | undefined;
  private complete = false;
  private settled = false;
  private written = 0;

  private constructor(
    readonly cachePath: string,
    private readonly partPath: string,
    private readonly url: string,
    private readonly validators: Validators,
  ) {}

  /** Starts a cache file, or returns undefined when the folder cannot be written. */
  static async start(cachePath: string, url: string, validators: Validators): Promise<DownloadCache | undefined> {
    const partPath = `${cachePath}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
    try {
      await fsp.mkdir(path.dirname(cachePath), { recursive: true });
      const cache = new DownloadCache(cachePath, partPath, url, validators);
      cache.handle = await fsp.open(partPath, 'wx');
      return cache;
    } catch {
      return undefined;
    }
  }

  /**
   * The download kept by an earlier flash of `url`, when its record vouches for it; a kept file
   * the record does not match (cut short, replaced, from before records) is deleted.
   */
  static async existing(cachePath: string, url: string): Promise<KeptDownload | undefined> {
    const stat = await fsp.stat(cachePath).catch(() => undefined);
    if (!stat?.isFile()) return undefined;
    const record = await fsp
      .readFile(recordPath(cachePath), 'utf8')
      .then((text) => JSON.parse(text) as { url?: unknown; size?: unknown; etag?: unknown; lastModified?: unknown })
      .catch(() => undefined);
    if (record?.url !== url || record.size !== stat.size || stat.size === 0) {
      await fsp.rm(cachePath, { force: true }).catch(() => undefined);
      await fsp.rm(recordPath(cachePath), { force: true }).catch(() => undefined);
      return undefined;
    }
    const validators: Validators = { size: stat.size };
    if (typeof record.etag === 'string') validators.etag = record.etag;
    if (typeof record.lastModified === 'string') validators.lastModified = record.lastModified;
    return { path: cachePath, url, validators };
  }

  /** Wraps the download's bytes: each chunk is appended to the cache on its way through. */
  async *tee(body: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    for await (const chunk of body) {
      if (this.handle) {
        try {
          await this.handle.write(chunk);
          this.written += chunk.length;
        } catch {
          await this.discard();
        }
      }
      yield chunk;
    }
    this.complete = true;
  }

  /** Renames the finished download into place; a no-op unless it streamed to its end. */
  async keep(): Promise<void> {
    if (this.settled || !this.complete || !this.handle) return;
    this.settled = true;
    const handle = this.handle;
    this.handle = undefined;
    try {
      await handle.sync();
      await handle.close();
      await fsp.rm(recordPath(this.cachePath), { force: true });
      await fsp.rename(this.partPath, this.cachePath);
      const record = { url: this.url, size: this.written, etag: this.validators.etag, lastModified: this.validators.lastModified };
      const recordPart = `${this.partPath}.json`;
      await fsp.writeFile(recordPart, `${JSON.stringify(record)}\n`);
      await fsp.rename(recordPart, recordPath(this.cachePath));
    } catch {
      await fsp.rm(this.partPath, { force: true }).catch(() => undefined);
      await fsp.rm(`${this.partPath}.json`, { force: true }).catch(() => undefined);
    }
  }

  /** Drops whatever was written (idempotent; after keep() it leaves the kept file alone). */
  async discard(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    await fsp.rm(this.partPath, { force: true }).catch(() => undefined);
  }
}
