// Benchmark of issue 3: Blockwise against dd on the same RAM-backed loop device, same run.
// Writes a ≥1 GiB mixed image in full with verification, alternating engine and dd runs (the
// machine is noisy: medians), compares readback with a raw O_DIRECT read, and checks that the
// engine's peak RSS does not grow with the image (3 GiB images: whole, sparse, .zst, .gz).
// Standalone: node dist/bench/raw.js [--rounds N] [--size-mib N]

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { FlashJob } from '../shared/flash-types';
import { bigImagePeaks } from './big-images';
import { fmt, hookSignals, loopDevice, makeMixedImage, mbps, median, MiB, option, printTable, runEngine, runStandalone, skipSection, timeCommand, workDir, type Row } from './bench-kit';

const RSS_GOAL = 150 * 1e6;

function fullJob(image: string, device: string): FlashJob {
  return { source: { kind: 'file', path: image }, targets: [{ path: device }], options: { verify: true, full: true } };
}

/** Zeroes the device (punches holes in its RAM backing) so every run starts from the same state. */
function resetDevice(device: string): void {
  execFileSync('blkdiscard', ['-f', device]);
}

export async function run(): Promise<Row[]> {
  const skipped = skipSection('raw');
  if (skipped) return skipped;
  hookSignals();
  const rounds = option('--rounds', 3);
  const size = option('--size-mib', 1024) * MiB;
  const dir = workDir('raw');
  const image = path.join(dir, 'mixed.img');
  makeMixedImage(image, size);
  const device = loopDevice(size);
  try {
    const engineWrite: number[] = [];
    const engineVerify: number[] = [];
    const ddWrite: number[] = [];
    const rawRead: number[] = [];
    const rss: number[] = [];
    const hashWait: number[] = [];
    // Whole flash (write + readback + the wait for the image's SHA-256) against dd write + raw read.
    const totalRatio: number[] = [];
    const blocks = String(size / (4 * MiB));
    for (let round = 1; round <= rounds; round++) {
      resetDevice(device.path);
      const e = await runEngine(fullJob(image, device.path));
      engineWrite.push(mbps(size, e.result.writeMs / 1000));
      engineVerify.push(mbps(size, e.result.verifyMs / 1000));
      rss.push(e.peakRss);
      hashWait.push((e.result.hashWaitMs ?? 0) / 1000);

      resetDevice(device.path);
      ddWrite.push(mbps(size, timeCommand('dd', [`if=${image}`, `of=${device.path}`, 'bs=4M', 'oflag=direct', 'conv=fsync'])));
      rawRead.push(mbps(size, timeCommand('dd', [`if=${device.path}`, 'of=/dev/null', 'bs=4M', `count=${blocks}`, 'iflag=direct'])));
      const engineSeconds = (e.result.writeMs + e.result.verifyMs + (e.result.hashWaitMs ?? 0)) / 1000;
      // mbps() gives MB/s, so size / 1e6 / MB/s is seconds.
      totalRatio.push((size / 1e6 / ddWrite.at(-1)! + size / 1e6 / rawRead.at(-1)!) / engineSeconds);
      console.log(
        `raw: round ${round}/${rounds}: engine write ${fmt(engineWrite.at(-1)!)} MB/s, verify ${fmt(engineVerify.at(-1)!)} MB/s, ` +
          `SHA-256 wait ${fmt(hashWait.at(-1)!, 2)} s, peak RSS ${fmt(e.peakRss / 1e6)} MB; dd write ${fmt(ddWrite.at(-1)!)} MB/s, raw read ${fmt(rawRead.at(-1)!)} MB/s`,
      );
    }
    device.dispose();

    // A bigger image must not need more memory, however it is written.
    const big = await bigImagePeaks(dir);

    const ew = median(engineWrite);
    const dw = median(ddWrite);
    const ev = median(engineVerify);
    const rr = median(rawRead);
    // Each round's engine and dd ran back to back, so their ratio shares that moment's load.
    const writeRatio = median(engineWrite.map((e, i) => e / ddWrite[i]!));
    const verifyRatio = median(engineVerify.map((e, i) => e / rawRead[i]!));
    const peak = Math.max(...rss);
    const rows: Row[] = [
      { metric: `image`, value: `${size / MiB} MiB mixed (62% random, 38% zero), full write, ${rounds} rounds, medians` },
      { metric: 'engine write MB/s', value: fmt(ew) },
      { metric: 'dd write MB/s (bs=4M oflag=direct conv=fsync)', value: fmt(dw) },
      { metric: 'engine / dd (median of per-round ratios)', value: fmt(writeRatio, 2), goal: '≥ 1.00', ok: writeRatio >= 1 },
      { metric: 'engine verify MB/s', value: fmt(ev) },
      { metric: 'raw O_DIRECT read MB/s (dd iflag=direct)', value: fmt(rr) },
      { metric: 'verify / raw read (median of per-round ratios)', value: fmt(verifyRatio, 2), goal: '≥ 0.90', ok: verifyRatio >= 0.9 },
      { metric: 'image SHA-256 wait after readback s (median)', value: fmt(median(hashWait), 2) },
      { metric: '(dd write + raw read) / engine write+verify+SHA-256 wait (median)', value: fmt(median(totalRatio), 2) },
      { metric: `engine peak RSS MB (${size / MiB} MiB image)`, value: fmt(peak / 1e6), goal: '< 150', ok: peak < RSS_GOAL },
      ...big.map((b) => ({ metric: `engine peak RSS MB (${b.label})`, value: fmt(b.peakRss / 1e6), goal: '< 150', ok: b.peakRss < RSS_GOAL })),
    ];
    printTable('Raw image, RAM-backed loop device: Blockwise vs dd', rows);
    return rows;
  } finally {
    device.dispose();
  }
}

if (require.main === module) runStandalone(run);
