// Benchmark of issue 6: filesystem-aware sparse writing on a 20 MB/s (SD-card-like) loop device
// pre-filled with garbage. A ≥1 GiB Raspberry-Pi-like image (MBR, FAT boot + ext4 root holding
// real files from /usr, some deleted) is written by Blockwise, by `bmaptool copy` with a .bmap
// from `bmaptool create` (on the image made sparse with `fallocate -d`, so bmaptool sees holes),
// and by dd; then its .img.xz by Blockwise and by `xz -dc | dd`. Bytes written come from the
// device's own counter (/sys/block/loopN/stat), so nothing is estimated.
// Standalone: node dist/bench/sparse.js [--size-mib N]   (needs root; ~5 minutes at 1 GiB)

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { FlashJob } from '../shared/flash-types';
import { buildImage, type BuiltImage } from '../electron/engine/block-map/test-images';
import { fillGarbage, type LoopDevice } from '../electron/test-support/loop-device';
import { sectorsWritten } from '../electron/engine/targets/device-geometry';
import { fmt, hookSignals, loopDevice, MiB, onCleanup, option, printTable, runEngine, runStandalone, skipSection, throttleWrites, timeCommand, workDir, type Row } from './bench-kit';

const THROTTLE = 20_000_000;
const RSS_GOAL = 150e6;

/** Copies a few /usr trees (text, binaries, locales) into one folder for mkfs.ext4 -d. */
function stage(dir: string, sources: string[]): string {
  const out = path.join(dir, path.basename(dir) + '-content');
  execFileSync('mkdir', ['-p', out]);
  for (const s of sources) execFileSync('cp', ['-a', s, out]);
  return out;
}

function resetToGarbage(device: LoopDevice): void {
  fillGarbage(device.backingFile, device.size, Date.now() >>> 0);
  execFileSync('blockdev', ['--flushbufs', device.path]);
}

/** Runs `measure` and returns its seconds and the bytes the device saw written meanwhile. */
async function measured(device: LoopDevice, measure: () => Promise<number> | number): Promise<{ seconds: number; bytes: number }> {
  const before = await sectorsWritten(device.path);
  const seconds = await measure();
  return { seconds, bytes: ((await sectorsWritten(device.path)) - before) * 512 };
}

function fsckPartitions(device: LoopDevice, image: BuiltImage): string {
  const results: string[] = [];
  for (const p of image.partitions) {
    const part = execFileSync('losetup', ['-f', '--show', '-r', '-o', String(p.offset), '--sizelimit', String(p.size), device.path], { encoding: 'utf8' }).trim();
    try {
      const tool = p.spec.fs.startsWith('ext') ? ['e2fsck', '-fn'] : ['fsck.vfat', '-n'];
      const r = spawnSync(tool[0]!, [tool[1]!, part], { encoding: 'utf8' });
      results.push(`${p.spec.fs} ${r.status === 0 ? 'clean' : `FAILED (${r.status})`}`);
    } finally {
      execFileSync('losetup', ['-d', part]);
    }
  }
  return results.join(', ');
}

export async function run(): Promise<Row[]> {
  const skipped = skipSection('sparse', true);
  if (skipped) return skipped;
  hookSignals();
  const totalMiB = option('--size-mib', 1024);
  const bootMiB = 128;
  const dir = workDir('sparse');
  const started = performance.now();
  console.log('sparse: building the image (sfdisk, mkfs.vfat + mcopy, mkfs.ext4 -d with /usr content)...');
  const bootContent = stage(path.join(dir, 'boot'), ['/usr/share/fonts', '/usr/share/java']);
  const rootContent = stage(path.join(dir, 'root'), ['/usr/share/locale', '/usr/share/man', '/usr/lib/gcc']);
  const image = buildImage(dir, 'pi.img', 'dos', [
    { fs: 'fat32', size: bootMiB * MiB, type: 'c', content: bootContent, deleted: 0.05 },
    { fs: 'ext4', size: (totalMiB - bootMiB - 2) * MiB, type: '83', content: rootContent, deleted: 0.05 },
  ]);
  execFileSync('rm', ['-rf', bootContent, rootContent]);
  execFileSync('fallocate', ['-d', image.file]);
  const bmap = `${image.file}.bmap`;
  execFileSync('sh', ['-c', `bmaptool -q create -o "${bmap}" "${image.file}"`]);
  console.log(`sparse: image built in ${fmt((performance.now() - started) / 1000)} s; compressing to .img.xz meanwhile`);
  const xz = `${image.file}.xz`;
  // Compressing is CPU-bound and the raw runs wait on a throttled device: overlap them so the
  // section stays short. -0 is xz's fastest preset; decoding speed hardly depends on it.
  const compressing = spawn('sh', ['-c', `xz -T2 -0 -c "${image.file}" > "${xz}"`], { stdio: 'ignore' });
  const stopCompressing = onCleanup(() => compressing.kill('SIGKILL'));
  const compressed = new Promise<number | null>((resolve) => compressing.on('close', resolve));
  const used = image.partitions.reduce((n, p) => n + [...p.files.values()].reduce((m, f) => m + f.length, 0), 0);

  const device = loopDevice(image.size + 8 * MiB);
  const unthrottle = throttleWrites(device.majMin, THROTTLE);
  try {
    const job = (source: string): FlashJob => ({
      source: { kind: 'file', path: source },
      targets: [{ path: device.path }],
      options: { verify: true, full: false, bmapPath: null },
    });
    const dd = ['bs=4M', 'oflag=direct', 'conv=fsync', 'status=none'];

    resetToGarbage(device);
    let engineRaw!: Awaited<ReturnType<typeof runEngine>>;
    const blockwise = await measured(device, async () => {
      engineRaw = await runEngine(job(image.file));
      return engineRaw.result.writeMs / 1000;
    });
    const fsck = fsckPartitions(device, image);
    console.log(`sparse: Blockwise raw: ${fmt(blockwise.bytes / MiB)} MiB written in ${fmt(blockwise.seconds)} s (${fsck})`);

    resetToGarbage(device);
    const bmaptool = await measured(device, () => timeCommand('bmaptool', ['-q', 'copy', '--bmap', bmap, image.file, device.path]));
    console.log(`sparse: bmaptool copy: ${fmt(bmaptool.bytes / MiB)} MiB in ${fmt(bmaptool.seconds)} s`);

    resetToGarbage(device);
    const ddRaw = await measured(device, () => timeCommand('dd', [`if=${image.file}`, `of=${device.path}`, ...dd]));
    console.log(`sparse: dd: ${fmt(ddRaw.bytes / MiB)} MiB in ${fmt(ddRaw.seconds)} s`);

    if ((await compressed) !== 0) throw new Error(`xz failed to compress ${image.file}`);
    stopCompressing();
    resetToGarbage(device);
    let engineXz!: Awaited<ReturnType<typeof runEngine>>;
    const blockwiseXz = await measured(device, async () => {
      engineXz = await runEngine(job(xz));
      return engineXz.result.writeMs / 1000;
    });
    const fsckXz = fsckPartitions(device, image);
    console.log(`sparse: Blockwise .img.xz: ${fmt(blockwiseXz.bytes / MiB)} MiB in ${fmt(blockwiseXz.seconds)} s (${fsckXz})`);

    resetToGarbage(device);
    const ddXz = await measured(device, () => timeCommand('sh', ['-c', `xz -dc -T2 "${xz}" | dd of="${device.path}" iflag=fullblock ${dd.join(' ')}`]));
    console.log(`sparse: xz -dc | dd: ${fmt(ddXz.bytes / MiB)} MiB in ${fmt(ddXz.seconds)} s`);

    const rows: Row[] = [
      {
        metric: 'image',
        value: `${fmt(image.size / MiB, 0)} MiB (MBR, FAT32 boot + ext4 root), ${fmt(used / MiB, 0)} MiB of files, .xz ${fmt(statSync(xz).size / MiB, 0)} MiB; device 20 MB/s writes, garbage-filled`,
      },
      { metric: 'bytes written: Blockwise / image', value: fmt(blockwise.bytes / image.size, 2) },
      { metric: 'bytes written MiB: Blockwise | bmaptool | dd', value: `${fmt(blockwise.bytes / MiB, 0)} | ${fmt(bmaptool.bytes / MiB, 0)} | ${fmt(ddRaw.bytes / MiB, 0)}` },
      { metric: 'bytes written: Blockwise / bmaptool', value: fmt(blockwise.bytes / bmaptool.bytes, 2), goal: '≤ 1.05', ok: blockwise.bytes <= 1.05 * bmaptool.bytes },
      { metric: 'write s: Blockwise | bmaptool | dd', value: `${fmt(blockwise.seconds)} | ${fmt(bmaptool.seconds)} | ${fmt(ddRaw.seconds)}` },
      { metric: 'time: Blockwise / dd', value: fmt(blockwise.seconds / ddRaw.seconds, 2), goal: '≤ 0.50', ok: blockwise.seconds <= 0.5 * ddRaw.seconds },
      { metric: 'time: Blockwise / bmaptool', value: fmt(blockwise.seconds / bmaptool.seconds, 2), goal: '≤ 1.00', ok: blockwise.seconds <= bmaptool.seconds },
      { metric: 'Blockwise readback verify s (unthrottled reads)', value: fmt(engineRaw.result.verifyMs / 1000) },
      { metric: 'fsck after Blockwise (raw | .xz)', value: `${fsck} | ${fsckXz}`, ok: !`${fsck}${fsckXz}`.includes('FAILED') },
      { metric: '.img.xz bytes written MiB: Blockwise | xz -dc | dd', value: `${fmt(blockwiseXz.bytes / MiB, 0)} | ${fmt(ddXz.bytes / MiB, 0)}` },
      { metric: '.img.xz write s: Blockwise | xz -dc | dd', value: `${fmt(blockwiseXz.seconds)} | ${fmt(ddXz.seconds)}` },
      { metric: '.img.xz time: Blockwise / (xz -dc | dd)', value: fmt(blockwiseXz.seconds / ddXz.seconds, 2), goal: '≤ 0.60', ok: blockwiseXz.seconds <= 0.6 * ddXz.seconds },
      {
        metric: 'engine peak RSS MB (raw | .xz)',
        value: `${fmt(engineRaw.peakRss / 1e6)} | ${fmt(engineXz.peakRss / 1e6)}`,
        goal: '< 150',
        ok: Math.max(engineRaw.peakRss, engineXz.peakRss) < RSS_GOAL,
      },
    ];
    printTable('Sparse writing, 20 MB/s loop device: Blockwise vs bmaptool vs dd', rows);
    return rows;
  } finally {
    unthrottle();
    device.dispose();
  }
}

if (require.main === module) runStandalone(run);
