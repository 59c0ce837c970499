// Real block devices for tests: file-backed loop devices (RAM-backed on /dev/shm by default).
// Every attach is paired with a detach in `dispose`, which tests call from a finally/after hook.

import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function losetupWorks(): boolean {
  try {
    execFileSync('losetup', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Reason to skip loop-device tests on this machine, or undefined when they can run. */
export function loopSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'loop devices need Linux';
  if (!isRoot()) return 'loop-device tests need root (run the suite as root, as CI does)';
  if (!losetupWorks()) return 'losetup is not installed';
  return undefined;
}

export interface LoopDevice {
  path: string;
  backingFile: string;
  /** "MAJ:MIN", for blkio throttling. */
  majMin: string;
  size: number;
  /** Bytes written to the device since this attach (the kernel's counters survive re-attaching). */
  bytesWritten(): number;
  dispose(): void;
}

function sectorsWrittenNow(name: string): number {
  return Number(readFileSync(`/sys/block/${name}/stat`, 'utf8').trim().split(/\s+/)[6]);
}

export interface LoopOptions {
  readOnly?: boolean;
  sectorSize?: 512 | 4096;
  /** Directory for the backing file (default /dev/shm, i.e. RAM). */
  dir?: string;
  /** Initial content: 'zero' (sparse) or 'garbage' (pseudo-random, so skipped ranges are visible). */
  fill?: 'zero' | 'garbage';
  partscan?: boolean;
}

const attached = new Set<string>();
process.on('exit', () => {
  for (const dev of attached) {
    try {
      execFileSync('losetup', ['-d', dev], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
});

export function fillGarbage(file: string, size: number, seed = 0x9e3779b9): void {
  const fd = openSync(file, 'w');
  try {
    const block = Buffer.alloc(Math.min(size, 1 << 20));
    let x = seed >>> 0;
    for (let i = 0; i < block.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      block.writeUInt32LE(x >>> 0, i);
    }
    for (let off = 0; off < size; off += block.length) {
      block.writeUInt32LE(off >>> 0, 0); // make every MiB distinct
      writeFileSyncAt(fd, block.subarray(0, Math.min(block.length, size - off)), off);
    }
  } finally {
    closeSync(fd);
  }
}

function writeFileSyncAt(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

export function createLoopDevice(size: number, options: LoopOptions = {}): LoopDevice {
  const dir = mkdtempSync(path.join(options.dir ?? (process.platform === 'linux' ? '/dev/shm' : os.tmpdir()), 'blockwise-loop-'));
  const backingFile = path.join(dir, 'disk.img');
  if (options.fill === 'garbage') {
    fillGarbage(backingFile, size);
  } else {
    const fd = openSync(backingFile, 'w');
    ftruncateSync(fd, size);
    closeSync(fd);
  }
  const args = ['-f', '--show'];
  if (options.readOnly) args.push('-r');
  if (options.sectorSize) args.push('--sector-size', String(options.sectorSize));
  if (options.partscan) args.push('-P');
  args.push(backingFile);
  const devicePath = execFileSync('losetup', args, { encoding: 'utf8' }).trim();
  attached.add(devicePath);
  const name = path.basename(devicePath);
  // Partitions added with partx (no partscan) outlive a detach, as do ones held open at the time:
  // a stale /dev/loopNp2 on this loop number made `partx -u` add nothing. Dropped on attach and
  // again on dispose.
  if (!options.partscan) dropPartitions(devicePath);
  const majMin = readFileSync(`/sys/block/${name}/dev`, 'utf8').trim();
  const baseline = sectorsWrittenNow(name);
  return {
    path: devicePath,
    backingFile,
    majMin,
    size,
    bytesWritten: () => (sectorsWrittenNow(name) - baseline) * 512,
    dispose() {
      dropPartitions(devicePath);
      try {
        execFileSync('losetup', ['-d', devicePath], { stdio: 'ignore' });
      } catch {
        /* already detached */
      }
      attached.delete(devicePath);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Removes the kernel's partitions of a loop device, if it has any. */
function dropPartitions(devicePath: string): void {
  const name = path.basename(devicePath);
  const has = () => {
    try {
      return readdirSync(`/sys/block/${name}`).some((entry) => entry.startsWith(`${name}p`));
    } catch {
      return false;
    }
  };
  if (!has()) return;
  try {
    execFileSync('partx', ['-d', devicePath], { stdio: 'ignore' });
  } catch {
    /* partx can report an error even when it removed them */
  }
}

/** Reads bytes of a loop device's backing file (what the "drive" really holds). */
export function readBacking(device: LoopDevice, position: number, length: number): Buffer {
  return readFileRange(device.backingFile, position, length);
}

/** `length` bytes of `file` from `position` (zeros past its end). */
export function readFileRange(file: string, position: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const out = Buffer.alloc(length);
    readSync(fd, out, 0, length, position);
    return out;
  } finally {
    closeSync(fd);
  }
}
