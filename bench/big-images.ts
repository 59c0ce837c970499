// Peak RSS must not grow with the image: 3 GiB images, sparse on disk, written whole, sparse (the
// ext4 block map) and from .img.zst / .img.gz, each flash in a child process of its own (VmHWM).

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { FlashJob } from '../shared/flash-types';
import { fmt, GiB, loopDevice, makeMixedImage, MiB, runEngine } from './bench-kit';

export interface BigRun {
  label: string;
  peakRss: number;
  writeSeconds: number;
  verifySeconds: number;
}

function job(image: string, device: string, full: boolean): FlashJob {
  return { source: { kind: 'file', path: image }, targets: [{ path: device }], options: { verify: true, full, bmapPath: null } };
}

/** Builds the images in `dir` (RAM), flashes each to one loop device, returns the engine's peaks. */
export async function bigImagePeaks(dir: string, size = 3 * GiB): Promise<BigRun[]> {
  const mixed = path.join(dir, 'big-mixed.img');
  makeMixedImage(mixed, size, 4 / 64);
  // An ext4 holding real files: the block map skips its free space; compressed copies of it.
  const ext4 = path.join(dir, 'big-ext4.img');
  execFileSync('truncate', ['-s', String(size), ext4]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'root_owner=0:0', '-d', '/usr/share/locale', ext4], { stdio: 'ignore' });
  execFileSync('sh', ['-c', `zstd -q -T2 -3 -c "${ext4}" > "${ext4}.zst" && pigz -1 -c "${ext4}" > "${ext4}.gz"`]);

  const device = loopDevice(size + 8 * MiB);
  const runs: BigRun[] = [];
  try {
    const cases: Array<[string, string, boolean]> = [
      ['3 GiB raw, full write', mixed, true],
      ['3 GiB ext4 raw, sparse', ext4, false],
      ['3 GiB ext4 .img.zst, sparse', `${ext4}.zst`, false],
      ['3 GiB ext4 .img.gz, sparse', `${ext4}.gz`, false],
    ];
    for (const [label, image, full] of cases) {
      execFileSync('blkdiscard', ['-f', device.path], { stdio: 'ignore' });
      const e = await runEngine(job(image, device.path, full));
      runs.push({ label, peakRss: e.peakRss, writeSeconds: e.result.writeMs / 1000, verifySeconds: e.result.verifyMs / 1000 });
      console.log(`raw: ${label}: write ${fmt(e.result.writeMs / 1000, 2)} s, verify ${fmt(e.result.verifyMs / 1000, 2)} s, peak RSS ${fmt(e.peakRss / 1e6)} MB`);
    }
  } finally {
    device.dispose();
  }
  return runs;
}
