// Benchmark of issue 6, several drives: one image to three loop devices throttled to SD-card speed
// (20 MB/s writes) in one run, against the same image to one. One read and one hash feed all
// three, so three drives should take about as long as one (goal ≤ 1.2×), in the same memory.
// Standalone: node dist/bench/fan-out.js [--size-mib N]

import * as path from 'node:path';
import type { FlashJob } from '../shared/flash-types';
import { fmt, hookSignals, loopDevice, makeMixedImage, MiB, printTable, runEngine, runStandalone, skipSection, throttleWrites, workDir, type Row } from './bench-kit';

const SD_CARD_SPEED = 20_000_000;

function sizeOption(): number {
  const i = process.argv.indexOf('--size-mib');
  const value = Number(i >= 0 ? process.argv[i + 1] : process.env.BENCH_FAN_OUT_MIB);
  return (Number.isFinite(value) && value > 0 ? value : 256) * MiB;
}

function fullJob(image: string, devices: string[]): FlashJob {
  return { source: { kind: 'file', path: image }, targets: devices.map((p) => ({ path: p })), options: { verify: true, full: true } };
}

export async function run(): Promise<Row[]> {
  const skipped = skipSection('fan-out', true);
  if (skipped) return skipped;
  hookSignals();
  const size = sizeOption();
  const dir = workDir('fan-out');
  const image = path.join(dir, 'mixed.img');
  makeMixedImage(image, size);
  const devices = [loopDevice(size), loopDevice(size), loopDevice(size)];
  const unthrottle = devices.map((d) => throttleWrites(d.majMin, SD_CARD_SPEED));
  try {
    const one = await runEngine(fullJob(image, [devices[0]!.path]));
    console.log(`fan-out: 1 drive: write ${fmt(one.result.writeMs / 1000, 2)} s, peak RSS ${fmt(one.peakRss / 1e6)} MB`);
    const three = await runEngine(fullJob(image, devices.map((d) => d.path)));
    const allOk = three.result.targets.every((t) => t.ok && t.verified);
    console.log(`fan-out: 3 drives: write ${fmt(three.result.writeMs / 1000, 2)} s, peak RSS ${fmt(three.peakRss / 1e6)} MB, all verified: ${allOk}`);
    const ratio = three.result.writeMs / one.result.writeMs;
    const rows: Row[] = [
      { metric: 'image', value: `${size / MiB} MiB mixed, full write, writes throttled to 20 MB/s per drive` },
      { metric: 'one drive: write s', value: fmt(one.result.writeMs / 1000, 2) },
      { metric: 'three drives: write s', value: fmt(three.result.writeMs / 1000, 2) },
      { metric: 'three / one', value: fmt(ratio, 2), goal: '≤ 1.20', ok: ratio <= 1.2 && allOk },
      { metric: 'peak RSS MB, one / three drives', value: `${fmt(one.peakRss / 1e6)} / ${fmt(three.peakRss / 1e6)}`, goal: '< 150', ok: three.peakRss < 150e6 },
    ];
    printTable('Several drives at once (throttled loop devices)', rows);
    return rows;
  } finally {
    for (const undo of unthrottle) undo();
    for (const d of devices) d.dispose();
  }
}

if (require.main === module) runStandalone(run);
