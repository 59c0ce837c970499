// Backs a drive up to an image file, compressed by the file's name (.img.gz, .img.zst, .img.xz;
// .img / .iso / .bin / .raw as they are), and proves the file restores: it is decompressed again
// and its SHA-256 compared with the one taken of the drive as it was read.
//
// - The drive is opened exclusively (O_EXCL): the kernel refuses it while a partition is mounted,
//   and a copy of a mounted filesystem is a copy of one changing under the read. It is read with
//   O_DIRECT, so the copy is what the drive holds, not what the page cache remembers.
// - The copy is written to NAME.partial and renamed only once it is complete, flushed and checked:
//   a cancelled or failed backup never leaves a file that looks like a backup.
// - NAME.sha256 is written beside it, naming the image inside ("backup.img"): flashing the backup
//   later checks it by itself (checksum-files.ts), and a person can compare it by hand.
// - gzip runs in this process (zlib, on libuv's threads); zstd and xz run as the `zstd -T0` and
//   `xz -T0` commands, on every core, fed through a pipe with backpressure.

import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants as fsc, createReadStream, createWriteStream, existsSync, promises as fsp, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { BlockwiseError } from '../../shared/errors';
import type { BackupCompression, BackupJob, BackupResult, FlashProgress } from '../../shared/flash-types';
import { alignedBuffer } from './aligned-pool';
import { ProgressMeter } from './progress-meter';
import { fileIsOnDisk, loopDevicesAllowed } from './target-guards';
import { CANCEL_GRACE_MS } from './targets/io-watch';
import { deviceGeometry, splitDeviceNumber } from './targets/device-geometry';
import { describeDeviceUsers } from './targets/device-users';

export type { BackupCompression, BackupJob, BackupResult };

const CHUNK = 4 * 1024 * 1024;
const LOOP_MAJOR = 7;

const COMPRESSED_SUFFIXES: Record<string, BackupCompression> = { '.gz': 'gzip', '.zst': 'zstd', '.xz': 'xz' };
const PLAIN_SUFFIXES = ['.img', '.iso', '.bin', '.raw', '.dd'];

/** The compression a backup file's name asks for, or a sentence saying why the name will not do. */
export function backupCompression(output: string): BackupCompression | { refused: string } {
  const name = path.basename(output).toLowerCase();
  const ext = path.extname(name);
  if (COMPRESSED_SUFFIXES[ext]) return COMPRESSED_SUFFIXES[ext];
  if (PLAIN_SUFFIXES.includes(ext)) return 'none';
  const supported = 'NAME.img (as it is), NAME.img.gz, NAME.img.zst or NAME.img.xz (compressed)';
  if (['.zip', '.bz2', '.7z', '.rar', '.tar', '.lz4', '.tgz'].includes(ext)) {
    return { refused: `${path.basename(output)}: Blockwise saves backups as ${supported}, not as ${ext}.` };
  }
  return { refused: `${path.basename(output)}: name the backup ${supported}, so that it says what it holds.` };
}

/** The image's own name inside the (compressed) backup file: "backup.img" for backup.img.zst. */
function imageNameOf(output: string, compression: BackupCompression): string {
  const name = path.basename(output);
  return compression === 'none' ? name : name.slice(0, name.length - path.extname(name).length);
}

interface Compressor {
  /** Where the drive's bytes go in. */
  input: Writable;
  /** Resolves once the compressed file is complete on disk; rejects with the compressor's failure. */
  done: Promise<void>;
  kill(): void;
}

const TOOL_INSTALL: Record<'zstd' | 'xz', string> = { zstd: 'zstd', xz: 'xz-utils' };

function toolArgs(compression: 'zstd' | 'xz', decompress: boolean): string[] {
  if (decompress) return ['-d', '-c', '-q'];
  return compression === 'zstd' ? ['-T0', '-3', '-q', '-c'] : ['-T0', '-6', '-q', '-c'];
}

/** Runs `zstd`/`xz` with stdin and stdout piped; a missing command is said with its package. */
function runTool(compression: 'zstd' | 'xz', decompress: boolean): { child: ChildProcessByStdio<Writable, Readable, Readable>; exited: Promise<void> } {
  const child = spawn(compression, toolArgs(compression, decompress), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new BlockwiseError('SOURCE_UNSUPPORTED', `The ${compression} command is not installed, so a .${compression === 'zstd' ? 'zst' : 'xz'} backup cannot be made. Install it (apt-get install ${TOOL_INSTALL[compression]}), or name the backup .img.gz.`)
          : error,
      );
    });
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${compression} ${decompress ? 'decompression' : 'compression'} failed (${signal ?? `exit code ${code}`}): ${stderr.trim() || 'no message'}`));
    });
  });
  exited.catch(() => undefined);
  // A stdin closed early (the tool died) is reported by `exited`, not as an unhandled EPIPE.
  child.stdin.on('error', () => undefined);
  return { child, exited };
}

function compressorTo(file: string, compression: BackupCompression): Compressor {
  // The stream owns its descriptor and closes it: a FileHandle's stream with autoClose off keeps
  // the handle referenced, and closing that handle then waits forever.
  const sink = createWriteStream(file, { flags: 'r+' });
  const written = new Promise<void>((resolve, reject) => {
    sink.once('close', () => (sink.writableFinished ? resolve() : reject(new Error('the file was closed before everything was written'))));
    sink.once('error', reject);
  });
  written.catch(() => undefined);
  if (compression === 'none') return { input: sink, done: written, kill: () => sink.destroy() };
  if (compression === 'gzip') {
    const gzip = createGzip({ level: 6 });
    gzip.once('error', (e) => sink.destroy(e));
    gzip.pipe(sink);
    return {
      input: gzip,
      done: written,
      kill: () => {
        gzip.destroy();
        sink.destroy();
      },
    };
  }
  const { child, exited } = runTool(compression, false);
  child.stdout.pipe(sink);
  return {
    input: child.stdin,
    done: Promise.all([exited, written]).then(() => undefined),
    kill: () => {
      child.kill('SIGKILL');
      sink.destroy();
    },
  };
}

/** Writes `data` and waits while the consumer's buffer is full (a slow compressor sets the pace). */
function feed(input: Writable, data: Buffer, failed: Promise<never>): Promise<void> {
  if (input.write(data)) return Promise.resolve();
  return Promise.race([new Promise<void>((resolve) => input.once('drain', resolve)), failed]);
}

/** Refuses what cannot be backed up (no such device, not a drive, a loop device without the opt-in); the drive's sysfs folder. */
function checkDrive(device: string): { sysfs: string | undefined } {
  let stat;
  try {
    stat = statSync(device);
  } catch {
    throw new BlockwiseError('TARGET_NOT_FOUND', `${device} does not exist: no drive is connected under that name.`, { path: device });
  }
  if (!stat.isBlockDevice()) throw new BlockwiseError('TARGET_NOT_ALLOWED', `${device} is not a drive: only a drive can be backed up.`, { path: device });
  const { major, minor } = splitDeviceNumber(stat.rdev);
  if (major === LOOP_MAJOR && !loopDevicesAllowed()) {
    throw new BlockwiseError('TARGET_NOT_ALLOWED', `${device} is a loop device; those are only accepted with BLOCKWISE_INCLUDE_LOOP=1 (for tests).`, { path: device });
  }
  let sysfs: string | undefined;
  try {
    sysfs = realpathSync(`/sys/dev/block/${major}:${minor}`);
  } catch {
    sysfs = undefined;
  }
  // A partition's image holds no partition table: flashed back "to a drive" (the only way
  // Blockwise restores), it would not be that drive again.
  if (sysfs && existsSync(path.join(sysfs, 'partition'))) {
    const drive = `/dev/${path.basename(path.dirname(sysfs))}`;
    throw new BlockwiseError(
      'TARGET_NOT_ALLOWED',
      `${device} is a partition of ${drive}: a backup copies a whole drive, with its partition table, so that flashing it back restores the drive. Back up ${drive} instead.`,
      { path: device, drive },
    );
  }
  return { sysfs };
}

/**
 * Why a folder is no place for a backup, or undefined: /dev holds devices (a file there lives in
 * memory, gone at the next start; /dev/shm is memory meant for files, and allowed), /proc and /sys
 * are the kernel's views.
 */
function virtualFolder(real: string): string | undefined {
  const within = (root: string) => real === root || real.startsWith(`${root}/`);
  if (within('/dev') && !within('/dev/shm')) return `${real} holds devices, not files: a backup saved there would live in memory and be gone at the next start`;
  if (within('/proc') || within('/sys')) return `${real} is the kernel's view of the system, not a folder for files`;
  return undefined;
}

function outputError(error: unknown, output: string, offset?: number): BlockwiseError {
  if (error instanceof BlockwiseError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const where = offset === undefined ? '' : ` at byte ${offset} of the drive`;
  const folder = path.dirname(output);
  const because =
    code === 'ENOSPC'
      ? `the filesystem holding ${folder} is full${where}. Free some space or save the backup elsewhere`
      : code === 'EROFS'
        ? `${folder} is on a read-only filesystem. Save the backup elsewhere`
        : code === 'EACCES' || code === 'EPERM'
          ? `you may not write in ${folder}. Save the backup in a folder of yours`
          : `${(error as Error).message}${where}`;
  return new BlockwiseError('WRITE_IO_ERROR', `Could not save the backup ${output}: ${because}.`, { path: output, ...(code ? { syscode: code } : {}), ...(offset !== undefined ? { offset } : {}) });
}

export interface BackupContext {
  signal: AbortSignal;
  onProgress?: (progress: FlashProgress) => void;
}

/** Backs `job.device` up to `job.output` (see the top of this file). */
export async function runBackup(job: BackupJob, context: BackupContext): Promise<BackupResult> {
  const started = performance.now();
  const device = job.device;
  const output = path.resolve(job.output);
  const compression = backupCompression(output);
  if (typeof compression !== 'string') throw new BlockwiseError('TARGET_NOT_ALLOWED', compression.refused, { path: output });
  const drive = checkDrive(device);
  const folder = path.dirname(output);
  if (!existsSync(folder)) {
    throw new BlockwiseError('TARGET_NOT_FOUND', `Cannot save ${output}: the folder ${folder} does not exist. Create it, or save the backup somewhere else.`, { path: output });
  }
  const notForFiles = virtualFolder(realpathSync(folder));
  if (notForFiles) throw new BlockwiseError('TARGET_NOT_ALLOWED', `Cannot save ${output}: ${notForFiles}. Save the backup on a disk, such as your Downloads folder or a USB drive.`, { path: output });
  if (existsSync(output) && statSync(output).isDirectory()) {
    const example = path.join(output, `backup${compression === 'none' ? '.img' : `.img${path.extname(output)}`}`);
    throw new BlockwiseError('TARGET_NOT_ALLOWED', `${output} is a folder: give the backup a file name, in it (${example}) or beside it.`, { path: output });
  }
  if (existsSync(output)) {
    throw new BlockwiseError('TARGET_NOT_ALLOWED', `${output} already exists; Blockwise does not overwrite it. Remove it, or give the backup another name.`, { path: output });
  }
  if (drive.sysfs && fileIsOnDisk(folder, drive.sysfs)) {
    throw new BlockwiseError('SOURCE_ON_TARGET', `${folder} is on ${device} itself: a backup cannot be saved on the drive it copies. Save it on another drive.`, { path: output });
  }
  const geometry = await deviceGeometry(device);
  if (geometry.size === 0) throw new BlockwiseError('TARGET_NOT_FOUND', `${device} has no medium (0 bytes): insert the card or plug the drive in again.`, { path: device });
  const size = geometry.size;

  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(device, fsc.O_RDONLY | fsc.O_EXCL | (fsc.O_DIRECT ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EBUSY') {
      const users = describeDeviceUsers(device);
      const said = users
        ? `${device} is in use: ${users}. Unmount it or close that first, so that the backup is a consistent copy.`
        : `${device} is in use (a partition of it is mounted, or a program holds it): unmount it first, so that the backup is a consistent copy.`;
      throw new BlockwiseError('TARGET_BUSY', said, { path: device, syscode: code });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new BlockwiseError('PERMISSION_DENIED', `You may not read ${device}: run as root (or as a member of the disk group) to back it up.`, { path: device, syscode: code });
    }
    if (code !== 'EINVAL') throw new BlockwiseError('READ_IO_ERROR', `Could not open ${device}: ${(error as Error).message}`, { path: device, ...(code ? { syscode: code } : {}) });
    handle = await fsp.open(device, fsc.O_RDONLY | fsc.O_EXCL); // no O_DIRECT on this device
  }

  const partial = `${output}.partial`;
  let created = false;
  let compressor: Compressor | undefined;
  let kept = false;
  /** A read was given up on after a cancel: it is still in the kernel, and closing the drive would wait for it. */
  let abandoned = false;
  const meter = new ProgressMeter((p) => context.onProgress?.(p));
  const progress = (phase: 'writing' | 'verifying', position: number, force = false) =>
    meter.update({ phase, position, total: size, deviceBytes: position, targets: [{ path: output, phase, position, bytesWritten: 0, bytesVerified: 0 }] }, force);
  const cancelled = () =>
    new BlockwiseError('CANCELLED', `The backup of ${device} was cancelled: nothing was saved (the unfinished file was removed). The drive was only read.`, { path: device });
  try {
    try {
      await (await fsp.open(partial, 'wx')).close(); // created here: never someone else's file
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new BlockwiseError('TARGET_NOT_ALLOWED', `${partial} is left from an earlier backup that did not finish. Remove it, then try again.`, { path: partial });
      }
      throw outputError(error, output);
    }
    created = true;
    compressor = compressorTo(partial, compression);
    const failed = compressor.done.then(
      () => new Promise<never>(() => undefined),
      (error: unknown) => Promise.reject(outputError(error, output)),
    );
    failed.catch(() => undefined);
    // A cancel is heard while the compressor holds the copy back, not once it has caught up: xz
    // compresses 1–2 MB/s of a core, and the copy waited for its drain (and, after the last chunk,
    // for it to finish) — minutes on a card, with the CLI blaming the drive for not answering.
    const aborted = new Promise<never>((_, reject) => {
      const stop = () => reject(cancelled());
      if (context.signal.aborted) stop();
      else context.signal.addEventListener('abort', stop, { once: true });
    });
    const interrupted = Promise.race([failed, aborted]);
    interrupted.catch(() => undefined);
    const hash = createHash('sha256');
    const buffer = alignedBuffer(CHUNK);
    // A drive that stopped answering holds its read in the kernel: a cancel waits for it at most
    // CANCEL_GRACE_MS, then ends without it (the descriptor is closed once the kernel lets go).
    const givenUp = new Promise<never>((_, reject) => {
      const arm = () => setTimeout(() => reject(GIVEN_UP), CANCEL_GRACE_MS).unref();
      if (context.signal.aborted) arm();
      else context.signal.addEventListener('abort', arm, { once: true });
    });
    givenUp.catch(() => undefined);
    let position = 0;
    progress('writing', 0, true);
    while (position < size) {
      if (context.signal.aborted) throw cancelled();
      const want = Math.min(CHUNK, size - position);
      let got: number;
      try {
        ({ bytesRead: got } = await Promise.race([handle.read(buffer, 0, want, position), givenUp]));
      } catch (error) {
        if (error === GIVEN_UP) {
          abandoned = true;
          throw new BlockwiseError(
            'CANCELLED',
            `The backup of ${device} was cancelled: nothing was saved (the unfinished file was removed). ${device} is not responding: unplug it. The drive was only read.`,
            { path: device, unresponsive: true },
          );
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENODEV' || code === 'ENXIO') {
          throw new BlockwiseError('TARGET_NOT_FOUND', `${device} disappeared at byte ${position} of its ${size} (was it unplugged?). Nothing was saved.`, { path: device, offset: position, syscode: code });
        }
        // Named by its first unreadable block, not the start of the 4 MiB read (a byte that reads fine).
        const at = code === 'EIO' ? await firstUnreadable(handle, buffer.subarray(0, want), position, Math.max(4096, geometry.logicalBlockSize)) : position;
        throw new BlockwiseError('READ_IO_ERROR', `Reading ${device} failed at byte ${at}: ${(error as Error).message}. The drive may be failing; nothing was saved.`, {
          path: device,
          offset: at,
          ...(code ? { syscode: code } : {}),
        });
      }
      if (got === 0) throw new BlockwiseError('TARGET_NOT_FOUND', `${device} ended at byte ${position} of its ${size} (was it unplugged?). Nothing was saved.`, { path: device, offset: position });
      const data = Buffer.from(buffer.subarray(0, got)); // the stream keeps it until written; the buffer is reused
      hash.update(data);
      await feed(compressor.input, data, interrupted);
      position += got;
      progress('writing', position);
    }
    compressor.input.end();
    // Said as the file's failure (a full disk, named by its folder), whichever reports it first.
    await Promise.race([compressor.done.catch((error: unknown) => Promise.reject(outputError(error, output))), interrupted]);
    let storedSize: number;
    try {
      // fsync through a new descriptor flushes the file's data all the same: a write error the
      // cache held back surfaces here, not after the backup was called saved.
      const file = await fsp.open(partial, 'r+');
      try {
        await file.sync();
        storedSize = (await file.stat()).size;
      } finally {
        await file.close();
      }
    } catch (error) {
      throw outputError(error, output);
    }
    const sha256 = hash.digest('hex');

    let verified = false;
    if (job.verify) {
      const back = await restoredSha256(partial, compression, context.signal, (n) => progress('verifying', n), cancelled);
      if (back.size !== size || back.sha256 !== sha256) {
        throw new BlockwiseError(
          'VERIFY_MISMATCH',
          `The backup ${output} does not decompress to what was read from ${device} (${back.size} bytes, SHA-256 ${back.sha256}, instead of ${size} bytes, ${sha256}). The file was removed: save the backup again, on another disk if it happens again.`,
          { path: output },
        );
      }
      verified = true;
    }
    await fsp.rename(partial, output);
    kept = true;
    const checksumFile = `${output}.sha256`;
    // Replaces one left from an earlier backup of that name (whose file is gone: it was not
    // overwritten): kept, its old hash made a flash of this backup fail as a corrupt download.
    // One that cannot be written is removed rather than left half-written or stale.
    await fsp.writeFile(checksumFile, `${sha256}  ${imageNameOf(output, compression)}\n`).catch(() => fsp.rm(checksumFile, { force: true }).catch(() => undefined));
    await giveToInvokingUser([output, checksumFile]);
    progress(verified ? 'verifying' : 'writing', size, true);
    return { device, output, compression, imageSize: size, storedSize, sha256, verified, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    if (context.signal.aborted && !(error instanceof BlockwiseError && error.code === 'CANCELLED')) throw cancelled();
    throw error;
  } finally {
    compressor?.kill();
    await compressor?.done.catch(() => undefined); // its descriptor closed before the file goes
    if (abandoned) handle.close().catch(() => undefined);
    else await handle.close().catch(() => undefined);
    if (created && !kept) await fsp.rm(partial, { force: true }).catch(() => undefined);
  }
}

/**
 * Run through sudo (or pkexec), the backup belongs to who ran it, as a file they saved themselves
 * would: a root-owned image in their Downloads folder could not be deleted or renamed by them.
 */
async function giveToInvokingUser(files: string[]): Promise<void> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const uid = Number(process.env.SUDO_UID ?? process.env.PKEXEC_UID);
  if (!Number.isSafeInteger(uid) || uid <= 0) return;
  let gid = Number(process.env.SUDO_GID);
  if (!Number.isSafeInteger(gid) || gid < 0) {
    try {
      gid = Number(execFileSync('id', ['-g', String(uid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    } catch {
      gid = NaN;
    }
  }
  if (!Number.isSafeInteger(gid) || gid < 0) return;
  for (const file of files) await fsp.chown(file, uid, gid).catch(() => undefined);
}

/** What the cancel's give-up rejects with: never a read's own error. */
const GIVEN_UP = Symbol('given up');

/** The first `unit`-aligned block of the failed read [position, position + into.length) that cannot be read (halving; reads only). */
async function firstUnreadable(handle: fsp.FileHandle, into: Buffer, position: number, unit: number): Promise<number> {
  let start = 0;
  let length = into.length;
  while (length > unit) {
    const half = Math.ceil(length / 2 / unit) * unit;
    if (half >= length) break;
    try {
      let done = 0;
      while (done < half) {
        const { bytesRead } = await handle.read(into, done, half - done, position + start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      start += half;
      length -= half;
    } catch {
      length = half;
    }
  }
  return position + start;
}

/** Decompresses the saved file (as a restore would) and hashes the image it holds. */
async function restoredSha256(
  file: string,
  compression: BackupCompression,
  signal: AbortSignal,
  onBytes: (n: number) => void,
  cancelled: () => BlockwiseError,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
  let stream: Readable = source;
  let exited: Promise<void> = Promise.resolve();
  let kill: () => void = () => source.destroy();
  if (compression === 'gzip') {
    stream = source.pipe(createGunzip());
    kill = () => {
      source.destroy();
      stream.destroy();
    };
  } else if (compression !== 'none') {
    const tool = runTool(compression, true);
    source.pipe(tool.child.stdin);
    stream = tool.child.stdout;
    exited = tool.exited;
    kill = () => {
      source.destroy();
      tool.child.kill('SIGKILL');
    };
  }
  const onAbort = () => kill();
  signal.addEventListener('abort', onAbort);
  try {
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      onBytes(size);
    }
    await exited;
  } catch (error) {
    if (signal.aborted) throw cancelled();
    throw new BlockwiseError('VERIFY_MISMATCH', `The backup ${file.replace(/\.partial$/, '')} could not be decompressed again (${(error as Error).message}). The file was removed: save the backup again.`, {
      path: file,
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) throw cancelled();
  return { size, sha256: hash.digest('hex') };
}
