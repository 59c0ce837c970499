// A raw image file read straight into the caller's (aligned) buffers: zero copies on the hot path.

import { close, read } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../../shared/errors';
import { firstUnreadableByte, imageReadError, type ReadAt } from './read-failure';
import type { SourceInfo, SourceReader } from './source';

/** What the sources need of an open file: a FileHandle has it, and so has fdHandle's wrapper. */
export interface ReadHandle {
  readonly fd: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** A descriptor opened synchronously, read and closed through libuv's pool like a FileHandle. */
export function fdHandle(fd: number): ReadHandle {
  let closing: Promise<void> | undefined;
  return {
    fd,
    read: (buffer, offset, length, position) =>
      new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve({ bytesRead })))),
    close: () => (closing ??= new Promise<void>((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())))),
  };
}

export class FileSource implements SourceReader {
  readonly info: SourceInfo;
  /**
   * Regular files only: a drive being cloned is read once, by the writer (a second reader on the
   * same card or disk would compete with it for the device), and hashed in step with the write.
   */
  readonly backingFile?: { path: string; offset: number };
  private position = 0;

  private constructor(
    private readonly handle: ReadHandle,
    private readonly filePath: string,
    size: number,
    regularFile: boolean,
  ) {
    this.info = { name: path.basename(filePath), formats: ['raw'], storedSize: size, size, randomAccess: true };
    if (regularFile) this.backingFile = { path: filePath, offset: 0 };
  }

  static async open(filePath: string, handle: ReadHandle, size: number, regularFile = true): Promise<FileSource> {
    return new FileSource(handle, filePath, size, regularFile);
  }

  private readonly readInto: ReadAt = async (into, length, position) => (await this.handle.read(into, 0, length, position)).bytesRead;

  get storedPosition(): number {
    return this.position;
  }

  async read(into: Buffer): Promise<number> {
    const n = await this.readAt(into, this.position);
    this.position += n;
    return n;
  }

  async readAt(into: Buffer, position: number): Promise<number> {
    let filled = 0;
    while (filled < into.length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(into, filled, into.length - filled, position + filled));
      } catch (error) {
        const at = position + filled;
        // EIO: name the block that fails, not the start of a 4 MiB read (a byte that reads fine).
        const failed = (error as NodeJS.ErrnoException).code === 'EIO' ? await firstUnreadableByte(this.readInto, at, into.length - filled) : at;
        throw imageReadError(this.filePath, failed, error, this.backingFile === undefined);
      }
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < into.length && position + filled < (this.info.size ?? 0)) {
      throw new BlockwiseError('SOURCE_TRUNCATED', `${this.filePath} shrank while being read: it ends at byte ${position + filled}, not ${this.info.size}.`, {
        path: this.filePath,
        offset: position + filled,
      });
    }
    return filled;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
