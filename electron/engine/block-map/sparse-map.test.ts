// The block map on real images (built with sfdisk, mkfs.ext4 -d, mkfs.vfat + mtools), without a
// device: the plan is applied to a garbage-filled copy exactly as the pipeline would (4 MiB chunks,
// 4 KiB rounding), then each filesystem is cut out and checked with e2fsck/fsck.vfat and every file
// compared. Runs on raw (prebuilt map) and streaming (map built as chunks go by) alike.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fillGarbage } from '../../test-support/loop-device';
import { alignRanges, rangesLength, type WritePlanner } from '../write-planner';
import { FilesystemPlanner } from './filesystem-planner';
import { checkExtMetadata, checkFilesystem } from './fs-check';
import { buildImage, MiB, type BuiltImage, type PartitionSpec } from './test-images';

const CHUNK = 4 * MiB;
let work = '';
const built = new Map<string, BuiltImage>();

async function plannerFor(image: BuiltImage, mode: 'prebuilt' | 'streaming'): Promise<FilesystemPlanner> {
  if (mode === 'streaming') return FilesystemPlanner.streaming(image.size);
  const fd = openSync(image.file, 'r');
  try {
    return await FilesystemPlanner.prebuilt(async (into, position) => readSync(fd, into, 0, into.length, position), image.size);
  } finally {
    closeSync(fd);
  }
}

/** Writes what the planner asks for onto garbage, like the pipeline; returns bytes written. */
function applyPlan(image: BuiltImage, planner: WritePlanner, out: string): number {
  fillGarbage(out, image.size, 0x1234567);
  const input = openSync(image.file, 'r');
  const output = openSync(out, 'r+');
  let written = 0;
  try {
    const chunk = Buffer.alloc(CHUNK);
    for (let start = 0; start < image.size; start += CHUNK) {
      const n = readSync(input, chunk, 0, CHUNK, start);
      const data = chunk.subarray(0, n);
      planner.observe(start, data);
      const ranges = alignRanges(planner.rangesToWrite(start, start + n), 4096, start, start + n);
      for (const r of ranges) writeSync(output, data, r.start - start, r.end - r.start, r.start);
      written += rangesLength(ranges);
    }
    planner.finish?.();
  } finally {
    closeSync(input);
    closeSync(output);
  }
  return written;
}

function checkAll(image: BuiltImage, out: string, label: string): void {
  for (const [i, p] of image.partitions.entries()) {
    if (p.spec.fs === 'raw') continue;
    const volume = path.join(work, `volume-${i}`);
    const original = path.join(work, `original-${i}`);
    const cut = (from: string, to: string) =>
      execFileSync('dd', [`if=${from}`, `of=${to}`, 'bs=1M', `skip=${p.offset}`, `count=${p.size}`, 'iflag=skip_bytes,count_bytes', 'status=none']);
    cut(out, volume);
    try {
      checkFilesystem(volume, p, `${label} partition ${i + 1} (${p.spec.fs})`);
      if (p.spec.fs.startsWith('ext')) {
        cut(image.file, original);
        checkExtMetadata(original, volume, `${label} partition ${i + 1} (${p.spec.fs})`);
      }
    } finally {
      rmSync(volume, { force: true });
      rmSync(original, { force: true });
    }
  }
}

const layouts: Array<{ name: string; label: 'gpt' | 'dos'; parts: PartitionSpec[]; expect: string[] }> = [
  {
    name: 'gpt-fat32-ext4',
    label: 'gpt',
    parts: [
      { fs: 'fat32', size: 40 * MiB, type: 'U', mkfs: ['-s', '1'] },
      { fs: 'ext4', size: 48 * MiB, type: 'L', mkfs: ['-b', '4096'] },
    ],
    expect: ['gpt', 'fat32', 'ext4'],
  },
  {
    name: 'mbr-fat16-ext4-1k-noflex-logical-ext2',
    label: 'dos',
    parts: [
      { fs: 'fat16', size: 20 * MiB, type: 'e' },
      { fs: 'ext4', size: 24 * MiB, type: '83', mkfs: ['-b', '1024', '-O', '^flex_bg,^64bit'] },
      { fs: 'ext2', size: 16 * MiB, type: '83', logical: true, mkfs: ['-b', '1024'] },
      { fs: 'ext3', size: 16 * MiB, type: '83', logical: true, mkfs: ['-b', '4096'] },
    ],
    expect: ['mbr', 'fat16', 'ext4', 'ext2', 'ext3'],
  },
  {
    // 1 KiB blocks, flex_bg: 8 groups, the later ones BLOCK_UNINIT (checked below with dumpe2fs).
    name: 'mbr-ext4-1k-flex-uninit',
    label: 'dos',
    parts: [{ fs: 'ext4', size: 64 * MiB, type: '83', mkfs: ['-b', '1024'] }],
    expect: ['mbr', 'ext4'],
  },
];

describe('filesystem block map on built images', () => {
  before(() => {
    work = mkdtempSync('/dev/shm/blockwise-sparse-map-');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const layout of layouts) {
    for (const mode of ['prebuilt', 'streaming'] as const) {
      test(`${layout.name}, ${mode}: fsck passes, files intact, free space skipped`, async () => {
        const image = built.get(layout.name) ?? buildImage(path.join(work, layout.name), `${layout.name}.img`, layout.label, layout.parts);
        built.set(layout.name, image);
        const planner = await plannerFor(image, mode);
        const out = path.join(work, `${layout.name}-${mode}.out`);
        const written = applyPlan(image, planner, out);
        assert.deepEqual([...planner.found].sort(), [...layout.expect].sort());
        checkAll(image, out, `${layout.name} (${mode})`);
        if (layout.name.includes('uninit')) {
          const p = image.partitions[0]!;
          const volume = path.join(work, 'uninit-volume');
          execFileSync('dd', [`if=${image.file}`, `of=${volume}`, 'bs=1M', `skip=${p.offset}`, `count=${p.size}`, 'iflag=skip_bytes,count_bytes', 'status=none']);
          const groups = execFileSync('dumpe2fs', [volume], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
          rmSync(volume);
          assert.match(groups, /BLOCK_UNINIT/, 'the image was meant to have uninitialised block groups');
        }
        // ~30% of each filesystem holds files: well under the image should have been written.
        assert.ok(written < image.size * 0.7, `wrote ${written} of ${image.size} bytes`);
        rmSync(out, { force: true });
      });
    }
  }
});
