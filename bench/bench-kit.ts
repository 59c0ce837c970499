// Shared pieces of the benchmarks: loop devices and blkio throttles that are always undone (also on
// Ctrl-C), wall-clock timing of commands, the engine run in a child process (so its peak RSS is its
// own, not the harness's), medians and plain-text tables.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import type { FlashJob, FlashResult } from '../shared/flash-types';
import { createLoopDevice, type LoopDevice, type LoopOptions } from '../electron/test-support/loop-device';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** One line of a section's result table. */
export interface Row {
  metric: string;
  value: string;
  goal?: string;
  /** undefined: informational; true/false: goal met or not. */
  ok?: boolean;
}

// ---- cleanup that survives failures and signals -------------------------------------------------

const cleanups = new Set<() => void>();

/** Registers an undo step; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(undo: () => void): () => void {
  const run = () => {
    if (!cleanups.delete(run)) return;
    try {
      undo();
    } catch (error) {
      console.error(`cleanup failed: ${(error as Error).message}`);
    }
  };
  cleanups.add(run);
  return run;
}

export function cleanupAll(): void {
  for (const run of [...cleanups].reverse()) run();
}

let signalsHooked = false;
/** Ctrl-C or kill: undo throttles and detach loop devices before exiting. */
export function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: cleaning up loop devices and throttles`);
      cleanupAll();
      process.exit(130);
    });
  }
  process.on('exit', cleanupAll);
}

export function benchSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'benchmarks need Linux loop devices';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'benchmarks need root (loop devices, blkio throttles)';
  return undefined;
}

/** A loop device that is detached by cleanupAll if the caller never disposes it. */
export function loopDevice(size: number, options?: LoopOptions): LoopDevice {
  const device = createLoopDevice(size, options);
  const undo = onCleanup(() => device.dispose());
  return { ...device, dispose: undo };
}

export function workDir(prefix: string, base = '/dev/shm'): string {
  const dir = mkdtempSync(path.join(base, `blockwise-bench-${prefix}-`));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- blkio throttling (cgroup v1) --------------------------------------------------------------

const BLKIO = '/sys/fs/cgroup/blkio';

export function throttleAvailable(): boolean {
  try {
    execFileSync('test', ['-w', `${BLKIO}/blkio.throttle.write_bps_device`]);
    return true;
  } catch {
    return false;
  }
}

/** Limits writes to `majMin` to `bytesPerSecond`; returns the undo (also run by cleanupAll). */
export function throttleWrites(majMin: string, bytesPerSecond: number): () => void {
  const file = `${BLKIO}/blkio.throttle.write_bps_device`;
  execFileSync('sh', ['-c', `echo "${majMin} ${bytesPerSecond}" > ${file}`]);
  return onCleanup(() => execFileSync('sh', ['-c', `echo "${majMin} 0" > ${file}`]));
}

// ---- images -------------------------------------------------------------------------------------

/**
 * Writes a mixed image: in every 64 MiB, 40 MiB of random bytes then 24 MiB of zeros (real images
 * mix incompressible data with empty space). Zeros are left as holes: `sparse` on disk.
 */
export function makeMixedImage(file: string, size: number, randomRatio = 40 / 64): void {
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, size);
    const block = Buffer.allocUnsafe(4 * MiB);
    const period = 64 * MiB;
    for (let off = 0; off < size; off += block.length) {
      const inPeriod = off % period;
      if (inPeriod >= period * randomRatio) continue; // zero region: a hole
      const n = Math.min(block.length, size - off);
      randomFillSync(block, 0, n);
      let done = 0;
      while (done < n) done += writeSync(fd, block, done, n - done, off + done);
    }
  } finally {
    closeSync(fd);
  }
}

// ---- timing -------------------------------------------------------------------------------------

/** Runs a command to completion; returns wall seconds. Throws with stderr when it fails. */
export function timeCommand(command: string, args: string[]): number {
  const started = performance.now();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 16 * MiB });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return seconds;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mbps(bytes: number, seconds: number): number {
  return bytes / 1e6 / seconds;
}

export interface EngineRun {
  result: FlashResult;
  /** Peak resident set of the engine's process (VmHWM), in bytes. */
  peakRss: number;
  /** Wall seconds of the child, start to exit. */
  seconds: number;
}

/**
 * Runs one runFlash in a fresh Node process (bench/flash-child.js) and collects its result and
 * peak RSS; `node` picks another Node than this one (Electron's line, otherNode()).
 */
export async function runEngine(job: FlashJob, env: Record<string, string> = {}, node = process.execPath): Promise<EngineRun> {
  const child = path.join(__dirname, 'flash-child.js');
  const started = performance.now();
  const proc = spawn(node, [child, JSON.stringify(job)], {
    env: { ...process.env, BLOCKWISE_INCLUDE_LOOP: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = onCleanup(() => proc.kill('SIGKILL'));
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  kill();
  const seconds = (performance.now() - started) / 1000;
  let parsed: { result?: FlashResult; peakRss?: number; error?: { code: string; message: string } };
  try {
    parsed = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
  } catch {
    throw new Error(`engine child exited ${code} without a result: ${err || out}`);
  }
  if (parsed.error || !parsed.result) throw new Error(`engine failed: ${parsed.error?.code} ${parsed.error?.message ?? err}`);
  return { result: parsed.result, peakRss: parsed.peakRss ?? 0, seconds };
}

/**
 * A Node of Electron's line to run the engine under beside this one, when this one is older:
 * BLOCKWISE_BENCH_NODE, else the Node 22 that scripts/fetch-node22.sh puts in .node22/. The app
 * runs the engine in Electron's Node, which has what Node 20 lacks (zlib zstd).
 */
export function otherNode(): { path: string; version: string } | undefined {
  const candidate = process.env.BLOCKWISE_BENCH_NODE ?? path.join(__dirname, '..', '..', '.node22', 'bin', 'node');
  if (!existsSync(candidate)) return undefined;
  const version = spawnSync(candidate, ['-v'], { encoding: 'utf8' }).stdout?.trim();
  if (!version || version === process.version) return undefined;
  return { path: candidate, version };
}

// ---- sections -----------------------------------------------------------------------------------

/** A positive number from `--name N` on the command line or BENCH_NAME in the environment. */
export function option(name: string, fallback: number, min = 1): number {
  const i = process.argv.indexOf(name);
  const env = process.env[`BENCH_${name.replace(/^--/, '').toUpperCase().replace(/-/g, '_')}`];
  const value = i >= 0 ? Number(process.argv[i + 1]) : Number(env ?? Number.NaN);
  return Number.isFinite(value) && value >= min ? value : fallback;
}

/** The reason a section cannot run here (not Linux, not root, no throttling), printed and as a row; undefined to run. */
export function skipSection(section: string, needsThrottle = false): Row[] | undefined {
  const reason = benchSkipReason() ?? (needsThrottle && !throttleAvailable() ? 'blkio throttling (cgroup v1) is not available' : undefined);
  if (!reason) return undefined;
  console.log(`${section}: skipped: ${reason}`);
  return [{ metric: `${section} benchmark`, value: `skipped: ${reason}` }];
}

/** `node dist/bench/X.js`: runs the section on its own, undoing devices and throttles at the end. */
export function runStandalone(run: () => Promise<unknown>): void {
  hookSignals();
  run()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(cleanupAll);
}

// ---- output -------------------------------------------------------------------------------------

export function fmt(value: number, digits = 1): string {
  return value.toFixed(digits);
}

export function printTable(title: string, rows: Row[]): void {
  const header = ['metric', 'value', 'goal', ''];
  const lines = rows.map((r) => [r.metric, r.value, r.goal ?? '', r.ok === undefined ? '' : r.ok ? 'ok' : 'MISSED']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(`\n### ${title}`);
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const l of lines) console.log(line(l));
}
