// .bmap flashing on real loop devices filled with garbage: mapped ranges byte-exact, unmapped ranges
// untouched, the device's own write counter close to the mapped bytes; broken maps and images that
// do not match their map end in BMAP_INVALID / CHECKSUM_MISMATCH with the partition table unwritten.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import type { FlashJob } from '../../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import '../sources/register';
import { runCompare } from '../compare';
import { runFlash } from '../flash';
import { HEAD_SIZE } from '../pipeline';
import { sectorsWritten } from '../targets/device-geometry';
import { parseBmap } from './bmap-file';
import { bmaptoolCreate, bmaptoolSkipReason, makeSparseImage, reseal, toVersion1 } from './bmap-fixtures';

const skip = loopSkipReason() ?? bmaptoolSkipReason();
if (skip) console.log(`# skipping .bmap flash tests: ${skip}`);

const MiB = 1024 * 1024;
const SIZE = 24 * MiB + 1000;
const ISLANDS = [
  { at: 0, length: 8192 }, // partition table and boot code, in the head
  { at: 3 * MiB, length: 2 * MiB + 512 },
  { at: 11 * MiB + 4096, length: 100_000 },
  { at: 24 * MiB, length: 1000 }, // the partial last block
];

function job(image: string, device: string, bmapPath?: string | null): FlashJob {
  const j: FlashJob = { source: { kind: 'file', path: image }, targets: [{ path: device }], options: { verify: true, full: false } };
  if (bmapPath !== undefined) j.options.bmapPath = bmapPath;
  return j;
}

async function expectError(j: FlashJob, code: string, pattern?: RegExp): Promise<BlockwiseError> {
  try {
    await runFlash(j, { signal: new AbortController().signal, onProgress: () => {} });
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, `expected a BlockwiseError, got ${error}`);
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return error;
  }
  assert.fail(`expected ${code}, but the flash reported success`);
}

describe('.bmap flashing on loop devices', { skip }, () => {
  let dir = '';
  let imageFile = '';
  let image: Buffer;
  let bmapText = '';
  const devices: LoopDevice[] = [];
  const device = () => {
    const d = createLoopDevice(32 * MiB, { fill: 'garbage' });
    devices.push(d);
    return d;
  };

  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-bmap-flash-');
    imageFile = path.join(dir, 'disk.img');
    image = makeSparseImage(imageFile, SIZE, ISLANDS);
    bmapText = readFileSync(bmaptoolCreate(imageFile, path.join(dir, 'disk.img.bmap')), 'utf8');
  });
  after(() => {
    for (const d of devices) d.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('writes exactly the mapped ranges found beside the image and leaves the rest as it was', async () => {
    const dev = device();
    const before = readBacking(dev, 0, dev.size);
    const written0 = await sectorsWritten(dev.path);
    const result = await runFlash(job(imageFile, dev.path), { signal: new AbortController().signal, onProgress: () => {} });
    assert.ok(result.targets[0]!.ok && result.targets[0]!.verified);
    const bmap = parseBmap(Buffer.from(bmapText), 'disk.img.bmap');
    const after = readBacking(dev, 0, dev.size);
    for (const r of bmap.ranges) {
      assert.ok(after.subarray(r.start, r.end).equals(image.subarray(r.start, r.end)), `range ${r.start}-${r.end} is byte-exact`);
    }
    // The first MiB is the image's, zeros included, though the map leaves most of it unmapped:
    // no old boot code or superblock survives beside the new partition table.
    assert.ok(after.subarray(0, HEAD_SIZE).equals(image.subarray(0, HEAD_SIZE)), 'the first MiB matches the image');
    // Between and after the ranges past the first MiB, the old garbage remains.
    let gap = HEAD_SIZE;
    for (const r of [...bmap.ranges, { start: dev.size, end: dev.size }]) {
      if (r.start > gap) assert.ok(after.subarray(gap, r.start).equals(before.subarray(gap, r.start)), `gap ${gap}-${r.start} untouched`);
      gap = Math.max(gap, Math.ceil(r.end / 4096) * 4096);
    }
    const writtenBytes = ((await sectorsWritten(dev.path)) - written0) * 512;
    const mappedOutsideHead = bmap.ranges.reduce((n, r) => n + Math.max(0, r.end - Math.max(r.start, HEAD_SIZE)), 0);
    assert.ok(writtenBytes >= mappedOutsideHead + HEAD_SIZE, `wrote ${writtenBytes} bytes, mapped ${mappedOutsideHead} + head`);
    assert.ok(writtenBytes <= bmap.mappedBytes + HEAD_SIZE + 64 * 1024, `wrote ${writtenBytes} bytes for ${bmap.mappedBytes} mapped`);
    assert.ok(result.mappedBytes < SIZE / 4, `mappedBytes ${result.mappedBytes}`);
  });

  test('bmapPath null ignores the map; an explicit bmapPath is used', async () => {
    const dev = device();
    const full = await runFlash(job(imageFile, dev.path, null), { signal: new AbortController().signal, onProgress: () => {} });
    assert.ok(readBacking(dev, 0, SIZE).equals(image), 'whole image written, zeros included');
    assert.ok(full.mappedBytes > SIZE / 2);

    const elsewhere = path.join(dir, 'maps', 'other-name.bmap');
    execFileSync('mkdir', ['-p', path.dirname(elsewhere)]);
    writeFileSync(elsewhere, bmapText);
    const renamed = path.join(dir, 'renamed.img');
    execFileSync('cp', ['--sparse=always', imageFile, renamed]);
    const dev2 = device();
    const mapped = await runFlash(job(renamed, dev2.path, elsewhere), { signal: new AbortController().signal, onProgress: () => {} });
    assert.ok(mapped.mappedBytes < SIZE / 4);
    assert.ok(readBacking(dev2, 3 * MiB, 2 * MiB).equals(image.subarray(3 * MiB, 5 * MiB)));
  });

  test('format 1.3 (SHA-1) and 1.2 (no checksums) maps work; a compressed image finds IMAGE.bmap', async () => {
    for (const minor of [3, 2] as const) {
      const sub = mkdtempSync(path.join(dir, `v1${minor}-`));
      const img = path.join(sub, 'disk.img');
      execFileSync('cp', ['--sparse=always', imageFile, img]);
      writeFileSync(`${img}.bmap`, toVersion1(bmapText, image, minor));
      const dev = device();
      const result = await runFlash(job(img, dev.path), { signal: new AbortController().signal, onProgress: () => {} });
      assert.ok(result.mappedBytes < SIZE / 4, `1.${minor}: mapped ${result.mappedBytes}`);
      assert.ok(readBacking(dev, 11 * MiB + 4096, 100_000).equals(image.subarray(11 * MiB + 4096, 11 * MiB + 4096 + 100_000)));
    }
    const sub = mkdtempSync(path.join(dir, 'gz-'));
    const gz = path.join(sub, 'disk.img.gz');
    writeFileSync(gz, execFileSync('gzip', ['-c', imageFile], { maxBuffer: 64 * MiB }));
    writeFileSync(path.join(sub, 'disk.img.bmap'), bmapText);
    const dev = device();
    const before = readBacking(dev, 6 * MiB, MiB);
    const result = await runFlash(job(gz, dev.path), { signal: new AbortController().signal, onProgress: () => {} });
    assert.ok(result.mappedBytes < SIZE / 4);
    assert.ok(readBacking(dev, 0, 8192).equals(image.subarray(0, 8192)));
    assert.ok(readBacking(dev, 6 * MiB, MiB).equals(before), 'unmapped range untouched');
  });

  test('a damaged map is BMAP_INVALID before anything is written', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['bad-xml', bmapText.slice(0, 700), /bad XML/],
      ['past-end', reseal(bmapText.replace(/(<Range[^>]*>)\s*6144\s*</, '$1 9000 <')), /past the image/],
      ['self-checksum', bmapText.replace('Count of blocks', 'Count of Blocks'), /own sha256/],
      ['wrong-size', reseal(bmapText.replace(/<ImageSize>\s*\d+/, `<ImageSize> ${SIZE - 1000}`).replace(/<BlocksCount>\s*\d+/, '<BlocksCount> 6144').replace(/(<Range[^>]*>)\s*6144\s*<\/Range>\s*/, '').replace(/<MappedBlocksCount>\s*(\d+)/, (_w, n: string) => `<MappedBlocksCount> ${Number(n) - 1}`)), /describes an image of/],
    ];
    for (const [name, text, pattern] of cases) {
      const bmapPath = path.join(dir, `${name}.bmap`);
      writeFileSync(bmapPath, text);
      const dev = device();
      const written0 = await sectorsWritten(dev.path);
      const error = await expectError(job(imageFile, dev.path, bmapPath), 'BMAP_INVALID', pattern);
      assert.equal(error.details.path, bmapPath);
      assert.equal(await sectorsWritten(dev.path), written0, `${name}: nothing written`);
    }
  });

  test('an image that does not match its map’s range checksum stops with CHECKSUM_MISMATCH, head unwritten', async () => {
    const sub = mkdtempSync(path.join(dir, 'tampered-'));
    const img = path.join(sub, 'disk.img');
    execFileSync('cp', ['--sparse=always', imageFile, img]);
    writeFileSync(`${img}.bmap`, bmapText);
    // One byte changed inside the 11 MiB island.
    const flipped = Buffer.from([image[11 * MiB + 50_000]! ^ 0xff]);
    execFileSync('dd', [`of=${img}`, 'bs=1', `seek=${11 * MiB + 50_000}`, 'conv=notrunc', 'status=none'], { input: flipped });
    const dev = device();
    const error = await expectError(job(img, dev.path), 'CHECKSUM_MISMATCH', /blocks 2817-2841/);
    assert.equal(error.details.offset, 11 * MiB + 4096);
    assert.equal(error.details.driveIncomplete, true);
    assert.ok(readBacking(dev, 0, 8192).equals(Buffer.alloc(8192)), 'the partition table was not written');
    assert.match(error.message, /The partition table was not written\.$/);

    // verify only reads: a map that belongs to another image says nothing of what was not written.
    const longer = path.join(sub, 'longer.img');
    execFileSync('cp', ['--sparse=always', imageFile, longer]);
    execFileSync('truncate', ['-s', String(SIZE + 4096), longer]);
    writeFileSync(`${longer}.bmap`, bmapText);
    const compared = await runCompare({ source: { kind: 'file', path: longer }, target: { path: dev.path } }, { signal: new AbortController().signal, onProgress: () => {} }).then(
      () => assert.fail('verify reported a match'),
      (e: unknown) => e as BlockwiseError,
    );
    assert.equal(compared.code, 'BMAP_INVALID', compared.message);
    assert.match(compared.message, /describes an image of \d+ bytes: it belongs to another image\.$/);
    const flashed = await expectError(job(longer, dev.path), 'BMAP_INVALID');
    assert.match(flashed.message, /it belongs to another image\. Nothing was written\.$/);
  });
});
