// Faulty drives for tests: a loop device on a file served by faulty-fs.py (FUSE, direct_io), which
// fails writes or reads in a byte range, wraps offsets like a counterfeit card, or vanishes after
// N bytes like a yanked stick. `dispose` detaches the loop device, unmounts and stops the server;
// tests call it from a finally/after hook, and process exit runs it for anything left over.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loopSkipReason } from './loop-device';

const PYTHON = '/usr/bin/python3';

export interface FaultOptions {
  /** Size the drive claims, in bytes. */
  size: number;
  /** Byte ranges [start, end) whose writes fail with EIO. */
  eioWrite?: Array<[number, number]>;
  /** Byte ranges [start, end) whose reads fail with EIO. */
  eioRead?: Array<[number, number]>;
  /** Keep only this many bytes: offset X is stored at X mod wrap (a counterfeit card). */
  wrap?: number;
  /** After this many bytes were written, every request fails (the stick was pulled out). */
  yankAfter?: number;
  /** After this many bytes were written, writes hang until the file `stallUntil` exists (at most 120 s). */
  stallAfter?: number;
  /** Byte ranges [start, end) whose reads hang until the file `stallUntil` exists (at most 120 s). */
  stallRead?: Array<[number, number]>;
  stallUntil?: string;
}

export interface FaultyDrive {
  path: string;
  majMin: string;
  size: number;
  /** The sparse file holding what the drive stored (wrap bytes long when wrapping). */
  store: string;
  /** The misbehaving FUSE file itself (under the loop device): an image file on a failing disk. */
  file: string;
  dispose(): void;
}

function scriptPath(): string {
  // Compiled to dist/electron/test-support/; the script stays in the source tree.
  const candidates = [path.join(__dirname, 'faulty-fs.py'), path.resolve(__dirname, '../../../electron/test-support/faulty-fs.py')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`faulty-fs.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Why fault-injection tests can't run here, or undefined when they can. */
export function fuseSkipReason(): string | undefined {
  const loop = loopSkipReason();
  if (loop) return loop;
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing (no FUSE in this kernel or container)';
  if (spawnSync('fusermount3', ['--version']).status !== 0) return 'fusermount3 is not installed (apt-get install fuse3)';
  const probe = spawnSync(PYTHON, ['-c', 'import fusepy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const fallback = spawnSync(PYTHON, ['-c', 'import fuse; fuse.FUSE'], { encoding: 'utf8' });
    if (fallback.status !== 0) return `${PYTHON} cannot import fusepy (apt-get install python3-fusepy)`;
  }
  return undefined;
}

const live = new Set<() => void>();
process.on('exit', () => {
  for (const dispose of [...live]) dispose();
});

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function unmount(mountpoint: string, server: ChildProcess): void {
  // The loop device may let go of the file a moment after detaching: retry, then unmount lazily.
  for (let attempt = 0; attempt < 20; attempt++) {
    if (spawnSync('fusermount3', ['-u', mountpoint], { stdio: 'ignore' }).status === 0) return;
    if (server.exitCode !== null) return;
    sleepSync(50);
  }
  spawnSync('fusermount3', ['-u', '-z', mountpoint], { stdio: 'ignore' });
}

export async function createFaultyDrive(options: FaultOptions): Promise<FaultyDrive> {
  const dir = mkdtempSync('/dev/shm/blockwise-faulty-');
  const mountpoint = path.join(dir, 'mnt');
  mkdirSync(mountpoint);
  const store = path.join(dir, 'store.bin');
  const args = [scriptPath(), mountpoint, '--size', String(options.size), '--backing', store];
  for (const [a, b] of options.eioWrite ?? []) args.push('--eio-write', `${a}:${b}`);
  for (const [a, b] of options.eioRead ?? []) args.push('--eio-read', `${a}:${b}`);
  if (options.wrap !== undefined) args.push('--wrap', String(options.wrap));
  if (options.yankAfter !== undefined) args.push('--yank-after', String(options.yankAfter));
  if (options.stallAfter !== undefined) args.push('--stall-after', String(options.stallAfter));
  for (const [a, b] of options.stallRead ?? []) args.push('--stall-read', `${a}:${b}`);
  const release = options.stallAfter !== undefined || options.stallRead ? (options.stallUntil ?? path.join(dir, 'release')) : undefined;
  if (release) args.push('--stall-until', release);

  const server = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let loopPath: string | undefined;
  let restoreQueue: (() => void) | undefined;
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    live.delete(dispose);
    // A read or write still stalled would hold the queue setting's write below (the kernel freezes
    // the queue until it ends) and the detach: let it end first.
    try {
      if (release) writeFileSync(release, '');
    } catch {
      /* its folder is gone: the test released it and cleaned up */
    }
    try {
      restoreQueue?.();
    } catch {
      /* the device is already gone */
    }
    if (loopPath) spawnSync('losetup', ['-d', loopPath], { stdio: 'ignore' });
    unmount(mountpoint, server);
    if (server.exitCode === null) server.kill('SIGTERM');
    // A lazily unmounted mountpoint stays busy for a moment: retry instead of leaving it behind.
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        rmSync(dir, { recursive: true, force: true });
        return;
      } catch {
        sleepSync(50);
      }
    }
  };
  live.add(dispose);

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`faulty-fs did not mount within 10 s: ${stderr}`)), 10_000);
      server.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`faulty-fs exited (${code}) before mounting: ${stderr}`));
      });
    });
    server.removeAllListeners('exit');
    loopPath = execFileSync('losetup', ['-f', '--show', path.join(mountpoint, 'disk')], { encoding: 'utf8' }).trim();
    const sysfs = `/sys/block/${path.basename(loopPath)}`;
    // FUSE (libfuse 2) serves at most 128 KiB per request and turns a larger one that fails midway
    // into a short count, which the loop driver completes as success: the error would vanish.
    // Requests of at most 128 KiB fail whole, as on a real drive (measured: 10/10 vs 2/3 caught).
    // The setting outlives the loop device's attachment: dispose puts the old value back.
    const maxSectors = `${sysfs}/queue/max_sectors_kb`;
    const previous = readFileSync(maxSectors, 'utf8').trim();
    restoreQueue = () => writeFileSync(maxSectors, previous);
    writeFileSync(maxSectors, '128');
    const majMin = readFileSync(`${sysfs}/dev`, 'utf8').trim();
    return { path: loopPath, majMin, size: options.size, store, file: path.join(mountpoint, 'disk'), dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}
