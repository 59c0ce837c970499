// Keeps a download for the next flash. Bytes go to a private `.part` file while they stream to the
// drive; the file takes the cache's name only once the download is complete and has passed its
// checksum (keep), so a half or wrong download can never be mistaken for a good one. Failing to
// write the cache (disk full) only turns caching off: the flash itself does not depend on it.

import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export class DownloadCache {
  private handle: fsp.FileHandle | undefined;
  private complete = false;
  private settled = false;

  private constructor(
    readonly cachePath: string,
    private readonly partPath: string,
  ) {}

  /** Starts a cache file, or returns undefined when the folder cannot be written. */
  static async start(cachePath: string): Promise<DownloadCache | undefined> {
    const partPath = `${cachePath}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
    try {
      await fsp.mkdir(path.dirname(cachePath), { recursive: true });
      const cache = new DownloadCache(cachePath, partPath);
      cache.handle = await fsp.open(partPath, 'wx');
      return cache;
    } catch {
      return undefined;
    }
  }

  /** A cached download from an earlier flash, when there is one. */
  static async existing(cachePath: string): Promise<string | undefined> {
    const stat = await fsp.stat(cachePath).catch(() => undefined);
    return stat?.isFile() && stat.size > 0 ? cachePath : undefined;
  }

  /** Wraps the download's bytes: each chunk is appended to the cache on its way through. */
  async *tee(body: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    for await (const chunk of body) {
      if (this.handle) {
        try {
          await this.handle.write(chunk);
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
      await fsp.rename(this.partPath, this.cachePath);
    } catch {
      await fsp.rm(this.partPath, { force: true }).catch(() => undefined);
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
