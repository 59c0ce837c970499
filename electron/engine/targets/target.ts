// A write target: a whole block device (a drive) or a regular file, behind one small interface.
// Block devices are opened exclusively (O_EXCL: the kernel refuses a mounted or otherwise claimed
// device) and, where the kernel accepts it, with O_DIRECT so data goes to the drive, not the cache.

import { execFile } from 'node:child_process';
import { constants as fsc, promises as fsp, statSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BlockwiseError } from '../../../shared/errors';
import { ALIGNMENT, alignDown, alignedBuffer, alignUp } from '../aligned-pool';
import { deviceGeometry } from './device-geometry';
import { describeDeviceUsers } from './device-users';

const O_DIRECT = fsc.O_DIRECT ?? 0;

export interface Target {
  readonly path: string;
  readonly kind: 'block-device' | 'file';
  /** Capacity in bytes; Infinity for a regular file. */
  readonly capacity: number;
  readonly logicalBlockSize: number;
  /** True when writes bypass the page cache (O_DIRECT accepted). */
  readonly direct: boolean;
  /** Writes `data` at `position`. Position and length must be multiples of ALIGNMENT unless the
   * range ends at the end of the image (the tail is handled by read-modify-write). */
  write(data: Buffer, position: number): Promise<void>;
  /**
   * Reads what the drive holds at `position` (aligned, as for write), bypassing the cache where
   * writes do; fewer bytes only past the end. Absent where a target cannot read back.
   */
  read?(into: Buffer, position: number): Promise<number>;
  /** fsync: the only point at which a buffered write's I/O error is guaranteed to surface. */
  flush(): Promise<void>;
  /** For a file target: cut it to the image size so the file equals the image. */
  finish(imageSize: number): Promise<void>;
  close(): Promise<void>;
}

export interface TargetReader {
  readonly direct: boolean;
  /** Reads exactly `into.length` bytes at `position` (fewer only past the end of the device). */
  read(into: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

/** An I/O error said as the target's: where it happened (a byte; none for a flush), and whether it was writing. */
function ioError(error: unknown, targetPath: string, position: number | undefined, writing: boolean): BlockwiseError {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof BlockwiseError) return error;
  // A flush (fsync) has no byte: "at byte 0" named one that was written fine.
  const where = position === undefined ? 'while its last writes were being flushed' : `at byte ${position}`;
  const details = { path: targetPath, ...(position === undefined ? {} : { offset: position }), syscode: code, driveIncomplete: writing };
  if (code === 'ENOSPC') {
    return new BlockwiseError('IMAGE_TOO_LARGE', `${targetPath} is full ${where}: the image does not fit.`, details);
  }
  if (code === 'ENODEV' || code === 'ENXIO') {
    return new BlockwiseError('TARGET_NOT_FOUND', `${targetPath} disappeared ${where} (was it unplugged?).`, details);
  }
  // Write-protected after it was opened: a drive's lock switch, or `blockdev --setro` (the kernel
  // then answers EPERM), or a filesystem remounted read-only under an image file (EROFS). Said as
  // a drive "failing to store data", the advice was another port or card reader.
  const device = isDevice(targetPath);
  if (writing && (code === 'EROFS' || (code === 'EPERM' && device))) {
    const became = device ? `${targetPath} became read-only (write-protected) ${where}.` : `The filesystem holding ${targetPath} became read-only ${where}.`;
    return new BlockwiseError('TARGET_READ_ONLY', became, details);
  }
  return new BlockwiseError(
    writing ? 'WRITE_IO_ERROR' : 'READ_IO_ERROR',
    `${writing ? 'Writing' : 'Reading'} ${targetPath} failed ${where}: ${(error as Error).message}`,
    details,
  );
}

function isDevice(targetPath: string): boolean {
  try {
    const stat = statSync(targetPath);
    return stat.isBlockDevice() || stat.isCharacterDevice();
  } catch {
    return false;
  }
}

export function openError(error: unknown, targetPath: string): BlockwiseError {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EBUSY': {
      const users = isDevice(targetPath) ? describeDeviceUsers(targetPath) : undefined;
      const said = users ? `${targetPath} is in use: ${users}.` : `${targetPath} is in use (mounted or opened by another program).`;
      return new BlockwiseError('TARGET_BUSY', said, { path: targetPath, syscode: code });
    }
    case 'EROFS':
      // For an image file it is the filesystem holding it that is read-only, not a lock switch.
      return new BlockwiseError('TARGET_READ_ONLY', isDevice(targetPath) ? `${targetPath} is read-only (write-protected).` : `${targetPath} is on a read-only filesystem.`, {
        path: targetPath,
        syscode: code,
      });
    case 'EACCES':
    case 'EPERM':
      return new BlockwiseError('PERMISSION_DENIED', `No permission to write ${targetPath}.`, { path: targetPath, syscode: code });
    case 'ENOENT':
    case 'ENXIO':
    case 'ENODEV':
      return new BlockwiseError('TARGET_NOT_FOUND', `${targetPath} does not exist (was the drive unplugged?).`, { path: targetPath, syscode: code });
    default:
      return new BlockwiseError('WRITE_IO_ERROR', `Cannot open ${targetPath}: ${(error as Error).message}`, { path: targetPath, syscode: code });
  }
}

async function writeFully(handle: fsp.FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error('the device accepted no more data'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}

async function readFully(handle: fsp.FileHandle, into: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * A read failed with EIO: read it again in halves to name the first block that cannot be read,
 * not the start of a 4 MiB request (a byte that reads fine). Reads only, so harmless; `into` is
 * scratch by then.
 */
async function firstUnreadableByte(handle: fsp.FileHandle, into: Buffer, position: number): Promise<number> {
  let start = 0;
  let length = into.length;
  while (length > ALIGNMENT) {
    const half = alignUp(Math.ceil(length / 2), ALIGNMENT);
    if (half >= length) break;
    try {
      await readFully(handle, into.subarray(start, start + half), position + start);
      start += half;
      length -= half;
    } catch {
      length = half;
    }
  }
  return position + start;
}

/** readFully, its failure said as the target's, naming the first unreadable byte. */
async function readTarget(handle: fsp.FileHandle, into: Buffer, position: number, targetPath: string): Promise<number> {
  try {
    return await readFully(handle, into, position);
  } catch (error) {
    const eio = (error as NodeJS.ErrnoException).code === 'EIO';
    throw ioError(error, targetPath, eio ? await firstUnreadableByte(handle, into, position) : position, false);
  }
}

/**
 * Opens with O_DIRECT where the kernel accepts it. A block device always does (the block layer
 * serves direct I/O for every drive), so it is opened without touching the drive: a probe read
 * there is I/O nothing watches (io-watch.ts), and a drive silent from its first block held the
 * flash, Cancel included, until it answered. A file proves it by an aligned read of its first
 * block: EINVAL (a filesystem without O_DIRECT support, like tmpfs) means "use the page cache".
 * `blockDevice` is what the caller knows already; undefined, the opened file is asked (fstat).
 */
async function openMaybeDirect(targetPath: string, flags: number, blockDevice?: boolean): Promise<{ handle: fsp.FileHandle; direct: boolean }> {
  if (O_DIRECT) {
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(targetPath, flags | O_DIRECT);
      if (blockDevice ?? (await handle.stat()).isBlockDevice()) return { handle, direct: true };
      await handle.read(alignedBuffer(ALIGNMENT), 0, ALIGNMENT, 0);
      return { handle, direct: true };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
    }
  }
  return { handle: await fsp.open(targetPath, flags), direct: false };
}

class FdTarget implements Target {
  constructor(
    readonly path: string,
    readonly kind: 'block-device' | 'file',
    readonly capacity: number,
    readonly logicalBlockSize: number,
    readonly direct: boolean,
    private readonly handle: fsp.FileHandle,
  ) {}

  async write(data: Buffer, position: number): Promise<void> {
    try {
      const tail = data.length % this.logicalBlockSize;
      if (!this.direct || tail === 0) {
        await writeFully(this.handle, data, position);
        return;
      }
      // The image ends mid-block: write the whole blocks, then merge the last partial block with
      // what the device holds past the image's end (O_DIRECT can only write whole blocks).
      const whole = data.length - tail;
      if (whole > 0) await writeFully(this.handle, data.subarray(0, whole), position);
      const block = alignedBuffer(this.logicalBlockSize);
      await readFully(this.handle, block, position + whole);
      data.copy(block, 0, whole);
      await writeFully(this.handle, block.subarray(0, this.logicalBlockSize), position + whole);
    } catch (error) {
      const eio = (error as NodeJS.ErrnoException).code === 'EIO';
      throw ioError(error, this.path, eio ? await this.firstFailingByte(data, position) : position, true);
    }
  }

  read(into: Buffer, position: number): Promise<number> {
    return readTarget(this.handle, into, position, this.path);
  }

  /**
   * A large write failed with EIO: rewrite it in halves (the same bytes, so harmless) to name the
   * first failing block rather than the start of a 4 MiB request.
   */
  private async firstFailingByte(data: Buffer, position: number): Promise<number> {
    const unit = Math.max(ALIGNMENT, this.logicalBlockSize);
    if (!this.direct || data.length % unit !== 0) return position;
    let start = 0;
    let length = data.length;
    while (length > unit) {
      const half = alignUp(Math.ceil(length / 2), unit);
      if (half >= length) break;
      try {
        await writeFully(this.handle, data.subarray(start, start + half), position + start);
        start += half;
        length -= half;
      } catch {
        length = half;
      }
    }
    return position + start;
  }

  async flush(): Promise<void> {
    try {
      await this.handle.sync();
    } catch (error) {
      throw ioError(error, this.path, undefined, true);
    }
  }

  async finish(imageSize: number): Promise<void> {
    if (this.kind === 'file') await this.handle.truncate(imageSize);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

export interface OpenTargetOptions {
  /** Regular files are created if missing; devices never are. */
  allowCreateFile?: boolean;
}

/** What a target is, found out by reading only: done while the image is still being opened. */
export interface TargetInspection {
  /** Absent for an image file yet to be created. */
  stat: import('node:fs').Stats | undefined;
  /** A drive's size and block size. */
  geometry?: Awaited<ReturnType<typeof deviceGeometry>>;
}

/** Looks at a target without opening it; refuses a read-only drive and what is neither a drive nor a file. */
export async function inspectTarget(targetPath: string, options: OpenTargetOptions = {}): Promise<TargetInspection> {
  let stat: import('node:fs').Stats | undefined;
  try {
    stat = statSync(targetPath); // a device node's or a file's metadata: no wait in line on the pool
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !options.allowCreateFile) throw openError(error, targetPath);
  }
  if (stat?.isBlockDevice()) {
    const geometry = await deviceGeometry(targetPath);
    if (geometry.readOnly) {
      throw new BlockwiseError('TARGET_READ_ONLY', `${targetPath} is read-only (write-protected).`, { path: targetPath });
    }
    return { stat, geometry };
  }
  if (stat && !stat.isFile()) {
    throw new BlockwiseError('TARGET_NOT_ALLOWED', `${targetPath} is neither a drive nor a regular file.`, { path: targetPath });
  }
  return { stat };
}

/** Opens a target for writing; `inspected` is its inspectTarget, where the caller already has it. */
export async function openTarget(targetPath: string, options: OpenTargetOptions = {}, inspected?: TargetInspection): Promise<Target> {
  const { stat, geometry } = inspected ?? (await inspectTarget(targetPath, options));
  if (geometry) {
    try {
      const { handle, direct } = await openMaybeDirect(targetPath, fsc.O_RDWR | fsc.O_EXCL, true);
      return new FdTarget(targetPath, 'block-device', geometry.size, geometry.logicalBlockSize, direct, handle);
    } catch (error) {
      throw openError(error, targetPath);
    }
  }
  try {
    const { handle, direct } = await openMaybeDirect(targetPath, fsc.O_RDWR | fsc.O_CREAT, false);
    // An image file is the image, byte for byte: what the write skips (free space in the image's
    // filesystems, a .bmap's gaps) must read as zeros, not as the file's old bytes. Emptied first,
    // those blocks are holes. (A drive keeps its old bytes there; nothing reads free space.)
    if (stat && (await handle.stat().then((now) => now.size, () => stat.size)) > 0) {
      try {
        await handle.truncate(0);
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw error;
      }
    }
    // O_DIRECT on a file takes the alignment of the drive beneath its filesystem, which may be a
    // 4Kn drive: blocks of ALIGNMENT (4096) suit every drive. The partial last block is merged
    // past the file's end and cut off by finish().
    return new FdTarget(targetPath, 'file', Infinity, direct ? ALIGNMENT : 512, direct, handle);
  } catch (error) {
    // Creating an image file: ENOENT means its folder is missing, not an unplugged drive.
    if (!stat && (error as NodeJS.ErrnoException).code === 'ENOENT') {
      const folder = path.dirname(targetPath);
      throw new BlockwiseError('TARGET_NOT_FOUND', `Cannot create ${targetPath}: the folder ${folder} does not exist. Create it, or write the image file somewhere else.`, {
        path: targetPath,
        syscode: 'ENOENT',
      });
    }
    throw openError(error, targetPath);
  }
}

const execFileAsync = promisify(execFile);

/** Opens a target for readback that never answers from the page cache. */
export async function openTargetReader(targetPath: string): Promise<TargetReader> {
  let opened: { handle: fsp.FileHandle; direct: boolean };
  try {
    opened = await openMaybeDirect(targetPath, fsc.O_RDONLY);
  } catch (error) {
    throw openError(error, targetPath);
  }
  const { handle, direct } = opened;
  if (!direct && process.platform === 'linux' && (await handle.stat()).isBlockDevice()) {
    // No O_DIRECT: drop the device's cached pages (BLKFLSBUF) so reads come from the drive.
    await execFileAsync('blockdev', ['--flushbufs', targetPath]).catch(() => undefined);
  }
  return {
    direct,
    read(into: Buffer, position: number): Promise<number> {
      return readTarget(handle, into, position, targetPath);
    },
    async close() {
      await handle.close().catch(() => undefined);
    },
  };
}

export { alignDown, alignUp };
