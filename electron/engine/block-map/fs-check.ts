// Test support: proves a written filesystem is intact — its own checker passes and every file
// reads back equal to the original — using the real tools (e2fsck/debugfs, fsck.vfat/mtools).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { BuiltPartition } from './test-images';

const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

/** `volume` is a file or block device holding exactly the partition's bytes. */
export function checkFilesystem(volume: string, partition: BuiltPartition, label: string): void {
  const fs = partition.spec.fs;
  if (fs === 'raw') return;
  if (fs.startsWith('ext')) {
    const fsck = spawnSync('e2fsck', ['-fn', volume], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, `${label}: e2fsck -fn failed (${fsck.status}):\n${fsck.stdout}\n${fsck.stderr}`);
  } else {
    const fsck = spawnSync('fsck.vfat', ['-n', volume], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, `${label}: fsck.vfat -n failed (${fsck.status}):\n${fsck.stdout}\n${fsck.stderr}`);
  }
  assert.ok(partition.files.size > 0, `${label}: the test image holds no files`);
  for (const [file, content] of partition.files) {
    const read = fs.startsWith('ext')
      ? execFileSync('debugfs', ['-R', `cat ${file}`, volume], { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] })
      : execFileSync('mcopy', ['-n', '-i', volume, `::${file}`, '-'], { maxBuffer: 1 << 28, env, stdio: ['ignore', 'pipe', 'pipe'] });
    assert.ok(read.equals(content), `${label}: ${file} differs after writing (${read.length} bytes read, ${content.length} expected)`);
  }
}

/**
 * ext metadata blocks as dumpe2fs lists them (superblock and descriptor backups, reserved GDT
 * blocks, bitmaps, inode tables), as inclusive block ranges. e2fsck does not read the backups, so
 * a test that only ran e2fsck would miss a map that skipped them.
 */
export function extMetadataBlocks(volume: string): { blockSize: number; ranges: Array<[number, number]> } {
  const text = execFileSync('dumpe2fs', [volume], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
  const blockSize = Number(/^Block size:\s+(\d+)/m.exec(text)?.[1]);
  const ranges: Array<[number, number]> = [];
  const pattern = /(?:superblock at|Group descriptors at|Reserved GDT blocks at|Block bitmap at|Inode bitmap at|Inode table at) (\d+)(?:-(\d+))?/g;
  for (const m of text.matchAll(pattern)) ranges.push([Number(m[1]), Number(m[2] ?? m[1])]);
  assert.ok(blockSize > 0 && ranges.length > 0, `dumpe2fs ${volume} listed no metadata`);
  return { blockSize, ranges };
}

/** Asserts every metadata block of the original ext volume is byte-identical in the written one. */
export function checkExtMetadata(original: string, written: string, label: string): void {
  const { blockSize, ranges } = extMetadataBlocks(original);
  const a = readFileSync(original);
  const b = readFileSync(written);
  for (const [first, last] of ranges) {
    const start = first * blockSize;
    const end = (last + 1) * blockSize;
    assert.ok(a.subarray(start, end).equals(b.subarray(start, end)), `${label}: metadata blocks ${first}-${last} differ from the image`);
  }
}
