// Sparse flashing end to end on real loop devices pre-filled with garbage: the engine writes only
// what the filesystems use, yet e2fsck/fsck.vfat pass on the device's partitions and every file
// reads back equal. Unknown partition types and --full are written byte for byte.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FlashResult } from '../../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { runFlash } from '../flash';
import '../sources/register';
import { sectorsWritten } from '../targets/device-geometry';
import { checkFilesystem } from './fs-check';
import { buildImage, MiB, type BuiltImage, type BuiltPartition } from './test-images';

const skip = loopSkipReason();
if (skip) console.log(`# skipping sparse-flash loop-device tests: ${skip}`);

let work = '';
const devices: LoopDevice[] = [];

async function flash(image: BuiltImage, full = false): Promise<{ device: LoopDevice; result: FlashResult; written: number }> {
  const device = createLoopDevice(image.size + 4 * MiB, { fill: 'garbage' });
  devices.push(device);
  // The counter survives detach/attach of the same loop number: measure the difference.
  const before = await sectorsWritten(device.path);
  const result = await runFlash(
    { source: { kind: 'file', path: image.file }, targets: [{ path: device.path }], options: { verify: true, full, bmapPath: null } },
    { signal: new AbortController().signal, onProgress: () => {} },
  );
  assert.equal(result.targets[0]?.ok, true, JSON.stringify(result.targets[0]?.error));
  return { device, result, written: ((await sectorsWritten(device.path)) - before) * 512 };
}

/** Attaches one partition of the device read-only, runs the checks, always detaches. */
function checkPartition(device: LoopDevice, partition: BuiltPartition, label: string): void {
  const part = execFileSync('losetup', ['-f', '--show', '-r', '-o', String(partition.offset), '--sizelimit', String(partition.size), device.path], {
    encoding: 'utf8',
  }).trim();
  try {
    checkFilesystem(part, partition, label);
  } finally {
    execFileSync('losetup', ['-d', part]);
  }
}

/** True when the device holds exactly the image's bytes over [offset, offset + length). */
function sameBytes(device: LoopDevice, image: BuiltImage, offset: number, length: number): boolean {
  const fd = openSync(image.file, 'r');
  try {
    for (let at = offset; at < offset + length; at += 4 * MiB) {
      const n = Math.min(4 * MiB, offset + length - at);
      const expected = Buffer.alloc(n);
      readSync(fd, expected, 0, n, at);
      if (!readBacking(device, at, n).equals(expected)) return false;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

const UNKNOWN_GPT = '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F'; // Linux swap: never mapped

describe('sparse flashing on loop devices', { skip }, () => {
  const images = new Map<string, BuiltImage>();
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    work = mkdtempSync('/dev/shm/blockwise-sparse-flash-');
    images.set(
      'gpt',
      buildImage(work, 'gpt.img', 'gpt', [
        { fs: 'fat32', size: 40 * MiB, type: 'U', mkfs: ['-s', '1'] },
        { fs: 'ext4', size: 48 * MiB, type: 'L', mkfs: ['-b', '4096', '-O', '64bit,flex_bg'] },
        { fs: 'raw', size: 12 * MiB, type: UNKNOWN_GPT },
      ]),
    );
    images.set(
      'mbr',
      buildImage(
        work,
        'mbr.img',
        'dos',
        [
          { fs: 'fat16', size: 20 * MiB, type: 'e' },
          { fs: 'ext4', size: 24 * MiB, type: '83', mkfs: ['-b', '1024', '-O', '^flex_bg,^64bit'] },
          // flex_bg with 1 KiB blocks: 8 groups, the later ones BLOCK_UNINIT.
          { fs: 'ext4', size: 64 * MiB, type: '83', mkfs: ['-b', '1024'] },
          { fs: 'ext2', size: 16 * MiB, type: '83', logical: true, mkfs: ['-b', '1024'] },
          { fs: 'ext4', size: 20 * MiB, type: '83', logical: true, mkfs: ['-b', '4096', '-O', '^flex_bg,64bit'] },
        ],
        2,
      ),
    );
    // An ext4 filesystem inside a partition typed LVM: the type is unknown, so it is written whole.
    images.set('unknown', buildImage(work, 'unknown.img', 'dos', [{ fs: 'ext4', size: 32 * MiB, type: '8e', mkfs: ['-b', '4096'] }], 3));
  });
  after(() => {
    for (const d of devices.splice(0)) d.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  test('an image file as the target ends up the image byte for byte: free blocks holding a deleted file\'s bytes are written too', async () => {
    const image = path.join(work, 'deleted.img');
    const junk = path.join(work, 'junk.bin');
    writeFileSync(image, '');
    truncateSync(image, 16 * MiB);
    execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'ignore' });
    writeFileSync(junk, randomBytes(4 * MiB));
    execFileSync('debugfs', ['-w', '-R', `write ${junk} junk`, image], { stdio: 'ignore' });
    execFileSync('debugfs', ['-w', '-R', 'rm junk', image], { stdio: 'ignore' });
    const copy = path.join(work, 'copy.img');
    const result = await runFlash(
      { source: { kind: 'file', path: image }, targets: [{ path: copy, createFile: true }], options: { verify: true, full: false, bmapPath: null } },
      { signal: new AbortController().signal, onProgress: () => {} },
    );
    assert.equal(result.targets[0]?.ok, true, JSON.stringify(result.targets[0]?.error));
    assert.ok(readFileSync(copy).equals(readFileSync(image)), 'the file is the image byte for byte');
  });

  test('GPT: FAT32 + ext4 (4 KiB, 64bit, flex_bg) + unknown type', async () => {
    const image = images.get('gpt')!;
    const { device, result, written } = await flash(image);
    for (const [i, p] of image.partitions.entries()) checkPartition(device, p, `gpt partition ${i + 1} (${p.spec.fs})`);
    const unknown = image.partitions[2]!;
    assert.ok(sameBytes(device, image, unknown.offset, unknown.size), 'the unknown-type partition was not written in full');
    // Tables, and the backup GPT in the last MiB, are always written.
    assert.ok(sameBytes(device, image, 0, MiB), 'primary GPT differs');
    assert.ok(sameBytes(device, image, image.size - MiB, MiB), 'backup GPT differs');
    assert.ok(written < image.size * 0.7, `wrote ${written} of ${image.size} bytes`);
    assert.ok(written >= result.mappedBytes, `device saw ${written} bytes, map said ${result.mappedBytes}`);
  });

  test('MBR: FAT16 + ext4 (1 KiB, no flex_bg) + ext4 (1 KiB, flex_bg, uninit groups) + logical ext2 and ext4 (no flex_bg, 64bit)', async () => {
    const image = images.get('mbr')!;
    const { device, written } = await flash(image);
    for (const [i, p] of image.partitions.entries()) checkPartition(device, p, `mbr partition ${i + 1} (${p.spec.fs})`);
    assert.ok(written < image.size * 0.7, `wrote ${written} of ${image.size} bytes`);
  });

  test('a filesystem in a partition of unknown type is written in full', async () => {
    const image = images.get('unknown')!;
    const { device, written } = await flash(image);
    const p = image.partitions[0]!;
    assert.ok(sameBytes(device, image, p.offset, p.size), 'the partition differs from the image');
    assert.ok(written >= p.size, `wrote ${written} bytes, less than the ${p.size}-byte partition`);
    checkPartition(device, p, 'ext4 in an LVM-typed partition');
  });

  // A compressed image has no random access: the map is built while it streams, from bitmaps and
  // FATs seen before the blocks they describe. It must skip (almost) as much as the prebuilt map.
  for (const format of ['gz', 'xz'] as const) {
    test(`.img.${format} streams sparse: same bytes written as the raw image`, async (t) => {
      const image = images.get('gpt')!;
      const compressed = `${image.file}.${format}`;
      execFileSync('sh', ['-c', `${format === 'gz' ? 'gzip' : 'xz -T2'} -1 -c "${image.file}" > "${compressed}"`]);
      const raw = await flash(image);
      let streamed;
      try {
        streamed = await flash({ ...image, file: compressed });
      } catch (error) {
        if ((error as { code?: string }).code === 'SOURCE_UNSUPPORTED') return t.skip(`this build cannot decode .${format} yet`);
        throw error;
      }
      for (const [i, p] of image.partitions.entries()) checkPartition(streamed.device, p, `.${format} partition ${i + 1} (${p.spec.fs})`);
      assert.ok(sameBytes(streamed.device, image, 0, MiB), 'primary GPT differs');
      assert.ok(sameBytes(streamed.device, image, image.size - MiB, MiB), 'backup GPT differs');
      t.diagnostic(`raw wrote ${raw.written} bytes, .${format} wrote ${streamed.written}, image ${image.size}`);
      assert.ok(Math.abs(streamed.written - raw.written) <= 2 * MiB, `raw wrote ${raw.written}, .${format} wrote ${streamed.written}`);
    });
  }

  test('full: true writes every byte', async () => {
    const image = images.get('gpt')!;
    const { device, result, written } = await flash(image, true);
    assert.equal(result.mappedBytes, image.size);
    assert.ok(written >= image.size, `wrote ${written} of ${image.size} bytes`);
    assert.ok(sameBytes(device, image, 0, image.size), 'device differs from the image');
  });
});
