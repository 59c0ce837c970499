// Benchmark of issue 5 (.bmap): a raw image with its .bmap through Blockwise vs `bmaptool copy`
// on the same loop device in the same run — RAM-backed (1 GiB image) and throttled to 20 MB/s
// writes (256 MiB image, so it ends in a couple of minutes). Blockwise is timed as the app sees it
// (runFlash from request to done, like bench/raw.ts) and as a whole process (Node's start, ~0.15 s
// more than Python's here, included); bmaptool as a whole command. Blockwise is timed with its
// readback verification on — bmaptool never reads the device back — and without it.
// Standalone: node dist/bench/bmap.js [--rounds N] [--size-mib N] [--throttled-size-mib N]

import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import type { FlashJob } from '../shared/flash-types';
import { fmt, hookSignals, loopDevice, median, MiB, option, printTable, runEngine, runStandalone, skipSection, throttleAvailable, throttleWrites, timeCommand, workDir, type Row } from './bench-kit';

const SEGMENT = 256 * 1024;
const MAPPED_SHARE = 0.4;
const THROTTLE_BPS = 20_000_000;

/**
 * A sparse image: each 256 KiB segment holds pseudo-random data with probability 0.4, else is a
 * hole — many ranges of varied length, like a real filesystem image after `fallocate -d`.
 */
function makeFragmentedImage(file: string, size: number): void {
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, size);
    const block = Buffer.allocUnsafe(SEGMENT);
    let x = 0x2545f491;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    for (let off = 0; off < size; off += SEGMENT) {
      if (off !== 0 && next() >= MAPPED_SHARE) continue; // the first segment (partition table) always has data
      for (let i = 0; i < SEGMENT; i += 4) block.writeUInt32LE((next() * 2 ** 32) >>> 0, i);
      let done = 0;
      while (done < SEGMENT) done += writeSync(fd, block, done, SEGMENT - done, off + done);
    }
  } finally {
    closeSync(fd);
  }
}

function mappedBytesOf(bmapFile: string): number {
  const text = readFileSync(bmapFile, 'utf8');
  const mapped = Number(/<MappedBlocksCount>\s*(\d+)/.exec(text)![1]);
  const blockSize = Number(/<BlockSize>\s*(\d+)/.exec(text)![1]);
  return mapped * blockSize;
}

interface CaseResult {
  /** runFlash's own duration (seconds), verified and not. */
  engine: number;
  engineNoVerify: number;
  /** Whole child process, start to exit (seconds). */
  engineProcess: number;
  bmaptool: number;
  mapped: number;
}

async function compare(label: string, size: number, rounds: number, throttled: boolean): Promise<CaseResult> {
  const dir = workDir(`bmap-${label}`);
  const image = path.join(dir, 'disk.img');
  makeFragmentedImage(image, size);
  execFileSync('bmaptool', ['create', '-o', `${image}.bmap`, image], { stdio: 'ignore' });
  const mapped = mappedBytesOf(`${image}.bmap`);
  const device = loopDevice(size);
  const undoThrottle = throttled ? throttleWrites(device.majMin, THROTTLE_BPS) : () => {};
  try {
    const job = (verify: boolean): FlashJob => ({ source: { kind: 'file', path: image }, targets: [{ path: device.path }], options: { verify, full: false } });
    const engine: number[] = [];
    const engineNoVerify: number[] = [];
    const engineProcess: number[] = [];
    const bmaptool: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      execFileSync('blkdiscard', ['-f', device.path], { stdio: 'ignore' });
      const e = await runEngine(job(true));
      if (e.result.mappedBytes > mapped + 2 * MiB) throw new Error(`Blockwise wrote ${e.result.mappedBytes} bytes; the .bmap maps ${mapped}`);
      engine.push(e.result.durationMs / 1000);
      engineProcess.push(e.seconds);
      execFileSync('blkdiscard', ['-f', device.path], { stdio: 'ignore' });
      engineNoVerify.push((await runEngine(job(false))).result.durationMs / 1000);
      execFileSync('blkdiscard', ['-f', device.path], { stdio: 'ignore' });
      bmaptool.push(timeCommand('bmaptool', ['-q', 'copy', image, device.path]));
      console.log(
        `bmap ${label}: round ${round}/${rounds}: Blockwise ${fmt(engine.at(-1)!, 2)} s (process ${fmt(engineProcess.at(-1)!, 2)} s, ` +
          `no verify ${fmt(engineNoVerify.at(-1)!, 2)} s), ` +
          `bmaptool copy ${fmt(bmaptool.at(-1)!, 2)} s`,
      );
    }
    return { engine: median(engine), engineNoVerify: median(engineNoVerify), engineProcess: median(engineProcess), bmaptool: median(bmaptool), mapped };
  } finally {
    undoThrottle();
    device.dispose();
  }
}

function rowsFor(label: string, size: number, r: CaseResult, deviceLimit?: number): Row[] {
  const rows: Row[] = [
    { metric: `${label}: image`, value: `${size / MiB} MiB, ${fmt((100 * r.mapped) / size)}% mapped (${fmt(r.mapped / MiB)} MiB)` },
    { metric: `${label}: bmaptool copy s`, value: fmt(r.bmaptool, 2) },
    { metric: `${label}: Blockwise write + readback verify s`, value: fmt(r.engine, 2) },
    { metric: `${label}: Blockwise write only s`, value: fmt(r.engineNoVerify, 2) },
    { metric: `${label}: Blockwise verified, whole process s`, value: fmt(r.engineProcess, 2) },
    { metric: `${label}: Blockwise (verified) / bmaptool`, value: fmt(r.engine / r.bmaptool, 2), goal: '≤ 1.00', ok: r.engine / r.bmaptool <= 1 },
    { metric: `${label}: Blockwise (write only) / bmaptool`, value: fmt(r.engineNoVerify / r.bmaptool, 2), goal: '≤ 1.00', ok: r.engineNoVerify / r.bmaptool <= 1 },
    { metric: `${label}: Blockwise (verified, whole process) / bmaptool`, value: fmt(r.engineProcess / r.bmaptool, 2) },
  ];
  if (deviceLimit !== undefined) {
    rows.push({ metric: `${label}: device limit (mapped / 20 MB/s) s`, value: fmt(deviceLimit, 2) });
  }
  return rows;
}

export async function run(): Promise<Row[]> {
  const skipped = skipSection('bmap');
  if (skipped) return skipped;
  hookSignals();
  const rounds = option('--rounds', 3);
  const size = option('--size-mib', 1024) * MiB;
  const throttledSize = option('--throttled-size-mib', 256) * MiB;
  const rows: Row[] = [];
  const ram = await compare('ram', size, rounds, false);
  rows.push(...rowsFor('RAM-backed', size, ram));
  if (throttleAvailable()) {
    const slow = await compare('throttled', throttledSize, rounds, true);
    rows.push(...rowsFor('20 MB/s writes', throttledSize, slow, slow.mapped / THROTTLE_BPS));
  } else {
    rows.push({ metric: '20 MB/s writes', value: 'skipped: blkio throttling is not available' });
  }
  printTable('Raw image + .bmap: Blockwise vs bmaptool copy, same loop device', rows);
  return rows;
}

if (require.main === module) runStandalone(run);
