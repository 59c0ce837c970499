// Benchmark of issue 5 (compressed images): Blockwise vs `TOOL -dc IMG | dd of=DEV bs=4M
// iflag=fullblock oflag=direct conv=fsync` on one loop device in one run — RAM-backed with a
// ~1 GiB ext4 image (made from /usr/share, so it compresses like a real one), then throttled to
// 20 MB/s writes with a 256 MiB one. Blockwise writes everything (`full`, no readback:
// like-for-like with dd) and is timed as the app sees it (runFlash from request to done, like
// bench/raw.ts and bench/bmap.ts) and as a whole process (Node's start included, shown beside it);
// its default sparse, verified flash is reported too. Runs alternate and medians are taken (two shared, noisy cores).
// Standalone: node dist/bench/compressed.js [--rounds N (0: no RAM-backed part)] [--throttled-rounds N]; BENCH_ONLY=zst
// times only the formats whose label holds that text.

import { execFileSync, execSync } from 'node:child_process';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { FlashJob } from '../shared/flash-types';
import type { LoopDevice } from '../electron/test-support/loop-device';
import {
  benchSkipReason,
  cleanupAll,
  fmt,
  hookSignals,
  loopDevice,
  median,
  MiB,
  option,
  otherNode,
  printTable,
  runEngine,
  throttleAvailable,
  throttleWrites,
  workDir,
  type Row,
} from './bench-kit';

const THROTTLE_BPS = 20_000_000;
const DD = 'dd of=DEV bs=4M iflag=fullblock oflag=direct conv=fsync status=none';

interface Format {
  label: string;
  file: string;
  /** Compresses `img` into `file` (both in the work dir). */
  make: string;
  /** The reference pipeline's decoder, writing the image to stdout. */
  decode: string;
  /** Extra pipelines reported for information (not the goal's reference). */
  extra?: Record<string, string>;
  /**
   * Also timed under Electron's Node line (otherNode()) when this Node is older: where the
   * decoder differs between the two (zstd: libzstd through the zstd-napi addon under Node 20, Node's
   * own libzstd under 22.15+).
   */
  otherNode?: boolean;
}

const ALL_FORMATS: Format[] = [
  // Multi-block, as `xz -T0` makes it; the reference is the single-threaded decoder.
  { label: '.img.xz (multi-block)', file: 'img.xz', make: 'xz -T2 -1 -c img > img.xz', decode: 'xz -dc -T1 img.xz', extra: { 'xz -dc -T0': 'xz -dc -T0 img.xz' } },
  { label: '.img.gz', file: 'img.gz', make: 'pigz -6 -c img > img.gz', decode: 'gzip -dc img.gz' },
  { label: '.img.zst', file: 'img.zst', make: 'zstd -q -T2 -3 -c img > img.zst', decode: 'zstd -dcq img.zst', otherNode: true },
  { label: '.zip', file: 'img.zip', make: 'zip -q -3 img.zip img', decode: 'unzip -p img.zip img' },
];
const FORMATS = ALL_FORMATS.filter((f) => f.label.includes(process.env.BENCH_ONLY ?? ''));

/** An ext4 image of `size` holding `tree`: real files (text, binaries, compressed docs) and free space. */
function makeImage(dir: string, size: number, tree: string): void {
  execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'root_owner=0:0', '-d', tree, path.join(dir, 'img'), `${size / MiB}M`], { stdio: 'ignore' });
}

function timeShell(command: string, dir: string): number {
  const started = performance.now();
  execSync(command, { cwd: dir, shell: '/bin/bash', stdio: ['ignore', 'ignore', 'pipe'] });
  return (performance.now() - started) / 1000;
}

interface Measured {
  /** runFlash's own duration. */
  engine: number;
  /** The engine's whole child process, start to exit. */
  engineProcess: number;
  pipeline: number;
  sparse: number;
  extra: Record<string, number>;
  /** Bytes the device counted beyond the image's own, medians: Blockwise's full write, the pipeline. */
  beyondImage: { engine: number; pipeline: number };
  /** runFlash's duration under Electron's Node line (otherNode()), when timed. */
  engineOtherNode?: number;
}

const other = otherNode();

async function measure(dir: string, loop: LoopDevice, rounds: number, log: string, throttled = false): Promise<Map<string, Measured>> {
  const out = new Map<string, Measured>();
  const device = loop.path;
  const imageBytes = statSync(path.join(dir, 'img')).size;
  for (const f of FORMATS) {
    const job = (full: boolean): FlashJob => ({
      source: { kind: 'file', path: path.join(dir, f.file) },
      targets: [{ path: device }],
      options: full ? { verify: false, full: true } : { verify: true, full: false },
    });
    const engine: number[] = [];
    const engineProcess: number[] = [];
    const pipeline: number[] = [];
    const sparse: number[] = [];
    const engineBeyond: number[] = [];
    const pipelineBeyond: number[] = [];
    const extra: Record<string, number[]> = {};
    const engineOther: number[] = [];
    const timeOther = f.otherNode === true && other !== undefined;
    // On the throttled device every timed run starts after the same second of quiet. The blkio
    // throttle carries its budget across a short pause: a writer starting within ~0.2 s of the
    // last one ended 13.34–13.43 s, one starting after 0.4 s 13.44–13.50 s, whichever it was
    // (dd from a file, the gzip pipeline or Blockwise). The pipeline used to start right after
    // Blockwise's child exited, and Blockwise only after its own Node had started (~0.2 s).
    const quiet = () => (throttled ? new Promise((resolve) => setTimeout(resolve, 1000)) : Promise.resolve());
    for (let round = 1; round <= rounds; round++) {
      // Alternate who goes first, so neither always gets the warmer machine.
      const runEngineOnce = async () => {
        await quiet();
        const before = loop.bytesWritten();
        const e = await runEngine(job(true));
        engineBeyond.push(loop.bytesWritten() - before - imageBytes);
        engine.push(e.result.durationMs / 1000);
        engineProcess.push(e.seconds);
      };
      const runPipeline = async () => {
        await quiet();
        const before = loop.bytesWritten();
        pipeline.push(timeShell(`${f.decode} | ${DD.replace('DEV', device)}`, dir));
        pipelineBeyond.push(loop.bytesWritten() - before - imageBytes);
      };
      const runOtherOnce = async () => {
        if (!timeOther) return;
        await quiet();
        engineOther.push((await runEngine(job(true), {}, other.path)).result.durationMs / 1000);
      };
      if (round % 2) {
        await runEngineOnce();
        await runOtherOnce();
        await runPipeline();
      } else {
        await runPipeline();
        await runOtherOnce();
        await runEngineOnce();
      }
      // Information only, and only where the CPU decides (a throttled device hides it).
      if (!throttled) for (const [name, cmd] of Object.entries(f.extra ?? {})) (extra[name] ??= []).push(timeShell(`${cmd} | ${DD.replace('DEV', device)}`, dir));
      if (round === 1) {
        await quiet();
        sparse.push((await runEngine(job(false))).seconds);
      }
      const d = throttled ? 3 : 2;
      const onOther = timeOther ? `, on ${other.version} ${fmt(engineOther.at(-1)!, d)} s` : '';
      console.log(`${log} ${f.label} round ${round}/${rounds}: Blockwise ${fmt(engine.at(-1)!, d)} s (process ${fmt(engineProcess.at(-1)!, 2)} s${onOther}), pipeline ${fmt(pipeline.at(-1)!, d)} s`);
    }
    const m: Measured = { engine: median(engine), engineProcess: median(engineProcess), pipeline: median(pipeline), sparse: median(sparse), extra: {}, beyondImage: { engine: median(engineBeyond), pipeline: median(pipelineBeyond) } };
    if (engineOther.length > 0) m.engineOtherNode = median(engineOther);
    for (const [name, values] of Object.entries(extra)) m.extra[name] = median(values);
    out.set(f.label, m);
  }
  return out;
}

function rowsFor(where: string, imageBytes: number, results: Map<string, Measured>, limitSeconds?: number): Row[] {
  const rows: Row[] = [];
  // On the throttled device both take the device's time give or take a few hundredths of a second:
  // two decimals would round 13.465 against 13.484 to "1.00" either way.
  const d = limitSeconds === undefined ? 2 : 3;
  for (const f of FORMATS) {
    const m = results.get(f.label)!;
    const ratio = m.engine / m.pipeline;
    const ref = f.decode.split(' ').slice(0, 2).join(' ');
    rows.push({
      metric: `${where} ${f.label}: Blockwise / ${ref} | dd`,
      value: `${fmt(m.engine, d)} s / ${fmt(m.pipeline, d)} s = ${fmt(ratio, d)} (${fmt(imageBytes / 1e6 / m.engine, 0)} MB/s)`,
      goal: '≤ 1.00',
      ok: ratio <= 1,
    });
    if (m.engineOtherNode !== undefined && other) {
      const r = m.engineOtherNode / m.pipeline;
      rows.push({
        metric: `${where} ${f.label}: same, engine under ${other.version} (Electron's Node line, as in the app)`,
        value: `${fmt(m.engineOtherNode, d)} s / ${fmt(m.pipeline, d)} s = ${fmt(r, d)}`,
        goal: '≤ 1.00',
        ok: r <= 1,
      });
      if (limitSeconds !== undefined) {
        rows.push({ metric: `${where} ${f.label}: same under ${other.version} / device limit`, value: fmt(m.engineOtherNode / limitSeconds, 3), goal: '≤ 1.05', ok: m.engineOtherNode / limitSeconds <= 1.05 });
      }
    }
    rows.push({
      metric: `${where} ${f.label}: same, Blockwise as a whole process (Node start included)`,
      value: `${fmt(m.engineProcess, 2)} s / ${fmt(m.pipeline, 2)} s = ${fmt(m.engineProcess / m.pipeline, 2)}`,
    });
    if (f.label.includes('xz') && limitSeconds === undefined) {
      rows.push({ metric: `${where} ${f.label}: speed-up over the single-threaded pipeline`, value: `${fmt(m.pipeline / m.engine, 2)}×`, goal: '≥ 1.40×', ok: m.pipeline / m.engine >= 1.4 });
    }
    if (limitSeconds !== undefined) {
      rows.push({ metric: `${where} ${f.label}: Blockwise / device limit (${fmt(limitSeconds, 1)} s)`, value: fmt(m.engine / limitSeconds, 3), goal: '≤ 1.05', ok: m.engine / limitSeconds <= 1.05 });
    }
    // The held-back head: the drive's old head zeroed where it is not blank, the image's own written
    // last (its zero blocks skipped). Over a drive holding an earlier image that is up to 2 × 128 KiB.
    rows.push({
      metric: `${where} ${f.label}: bytes written beyond the image's, Blockwise (held-back head) / pipeline`,
      value: `${fmt(m.beyondImage.engine / 1024, 0)} KiB / ${fmt(m.beyondImage.pipeline / 1024, 0)} KiB`,
    });
    for (const [name, seconds] of Object.entries(m.extra)) rows.push({ metric: `${where} ${f.label}: ${name} | dd (information)`, value: `${fmt(seconds, 2)} s` });
    rows.push({ metric: `${where} ${f.label}: Blockwise sparse + verified (default options)`, value: `${fmt(m.sparse, 2)} s` });
  }
  return rows;
}

export async function run(): Promise<Row[]> {
  const skip = benchSkipReason();
  if (skip) {
    console.log(`compressed: skipped (${skip})`);
    return [];
  }
  const rounds = option('--rounds', 3, 0);
  const throttledRounds = option('--throttled-rounds', 1);
  const big = 1024 * MiB;
  const small = 256 * MiB;
  const device = loopDevice(big + 64 * MiB);
  const rows: Row[] = [];
  try {
    let started = performance.now();
    // --rounds 0 skips the RAM-backed part (to time only the throttled one).
    if (rounds > 0) {
      const bigDir = workDir('compressed-ram');
      makeImage(bigDir, big, '/usr/share');
      for (const f of FORMATS) execSync(f.make, { cwd: bigDir, shell: '/bin/bash' });
      const sizes = FORMATS.map((f) => `${f.file} ${fmt(statSync(path.join(bigDir, f.file)).size / MiB, 0)} MiB`).join(', ');
      console.log(`RAM-backed: ${big / MiB} MiB ext4 of /usr/share (${sizes}), made in ${fmt((performance.now() - started) / 1000, 0)} s`);
      const ram = await measure(bigDir, device, rounds, 'RAM');
      rows.push({ metric: 'RAM-backed image', value: `${big / MiB} MiB ext4 of /usr/share; ${sizes}; ${rounds} rounds, medians` });
      rows.push(...rowsFor('RAM', big, ram));
      printTable('compressed images, RAM-backed loop device', rows);
    }

    if (!throttleAvailable()) {
      rows.push({ metric: 'throttled', value: 'skipped: no writable blkio throttle here' });
      return rows;
    }
    const smallDir = workDir('compressed-throttled');
    started = performance.now();
    makeImage(smallDir, small, '/usr/share/locale');
    for (const f of FORMATS) execSync(f.make, { cwd: smallDir, shell: '/bin/bash' });
    console.log(`throttled: ${small / MiB} MiB ext4 of /usr/share/locale, made in ${fmt((performance.now() - started) / 1000, 0)} s`);
    const unthrottle = throttleWrites(device.majMin, THROTTLE_BPS);
    let slow: Map<string, Measured>;
    try {
      slow = await measure(smallDir, device, throttledRounds, '20 MB/s', true);
    } finally {
      unthrottle();
    }
    const throttledRows = [
      { metric: 'throttled image', value: `${small / MiB} MiB ext4 of /usr/share/locale, writes limited to 20 MB/s; ${throttledRounds} round(s)` },
      ...rowsFor('20 MB/s', small, slow, small / THROTTLE_BPS),
    ];
    rows.push(...throttledRows);
    printTable('compressed images, loop device throttled to 20 MB/s', throttledRows);
    return rows;
  } finally {
    device.dispose();
  }
}

if (require.main === module) {
  hookSignals();
  run()
    .then((rows) => printTable('compressed images: all results', rows))
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(cleanupAll);
}
