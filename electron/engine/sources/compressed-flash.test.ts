// Every compressed format and every kind of bad input, flashed to a real loop device, once with
// the in-process decoders and once with the system's tools (BLOCKWISE_DECODER), so both stay right.

import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import type { FlashJob } from '../../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { runFlash } from '../flash';
import './register';
import { gzipSizeFromTrailer } from './gzip-source';
import { openDecodedStream } from './decoded-source';
import { inspectImage } from './inspect';
import { liveToolPids, toolRunsStarted } from './tool-decoder';
import { zstdThreadEngine } from './zstd-source';
import { zstdThreadRuns } from './zstd-thread';

const skip = loopSkipReason();
if (skip) console.log(`# skipping compressed-image loop-device tests: ${skip}`);

const MiB = 1024 * 1024;
let dir = '';
let image: Buffer;
let imagePath = '';

/** Mixed image: random, zeros and text, so every codec has something to do. */
function makeImage(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  randomBytes(size / 4).copy(bytes, 0);
  const line = Buffer.from('Blockwise test line: the quick brown fox jumps over the lazy dog.\n');
  for (let at = size / 2; at < size; at += line.length) line.copy(bytes, at);
  return bytes;
}

const sh = (command: string) => execSync(command, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], shell: '/bin/bash' });
const file = (name: string) => path.join(dir, name);

function job(name: string, target: string, entry?: string): FlashJob {
  const source: FlashJob['source'] = entry === undefined ? { kind: 'file', path: file(name) } : { kind: 'file', path: file(name), entry };
  return { source, targets: [{ path: target }], options: { verify: true, full: true } };
}

async function flash(j: FlashJob) {
  return runFlash(j, { signal: new AbortController().signal, onProgress: () => {} });
}

async function expectError(j: FlashJob, code: string): Promise<BlockwiseError> {
  try {
    await flash(j);
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, `expected a BlockwiseError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the flash reported success`);
}

/** The children a decoder started are gone (killed or exited) soon after a flash ends. */
async function noToolLeft(): Promise<void> {
  for (let i = 0; i < 100 && liveToolPids().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(liveToolPids(), [], 'a decoder process was left running');
}

let dev: LoopDevice;
if (!skip) {
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-compressed-test-');
    image = makeImage(12 * MiB);
    imagePath = file('disk.img');
    writeFileSync(imagePath, image);
    dev = createLoopDevice(32 * MiB, { fill: 'garbage' });
    // Multi-member gzip, pigz, multi-block xz (-T2, 3 MiB blocks), single-block xz, multi-frame zstd, multi-stream bzip2.
    sh('head -c 5000000 disk.img | gzip > multi.img.gz && tail -c +5000001 disk.img | gzip >> multi.img.gz');
    sh('pigz -c disk.img > pigz.img.gz');
    sh('xz -T2 -1 -c disk.img > blocks.img.xz && xz -T1 -1 -c disk.img > single.img.xz');
    sh('head -c 7000000 disk.img | zstd -q -c > multi.img.zst && tail -c +7000001 disk.img | zstd -q -c >> multi.img.zst');
    sh('head -c 3000000 disk.img | bzip2 -c > multi.img.bz2 && tail -c +3000001 disk.img | bzip2 -c >> multi.img.bz2');
    sh('zip -q deflate.zip disk.img && zip -q -0 stored.zip disk.img');
    sh('cp disk.img other.img && zip -q two.zip disk.img other.img && cp blocks.img.xz inner.img.xz && zip -q -0 nested.zip inner.img.xz');
    sh('cp blocks.img.xz really-xz.img && echo hello > a.txt && echo world > b.txt && zip -q noimage.zip a.txt b.txt');
    // pzstd puts a skippable frame (its own size note) before every frame: still zstd.
    sh('pzstd -q -p 2 -c disk.img > pzstd.img.zst');
    // Bad input.
    // Made with a dictionary the file does not carry; and a .zst of nothing but a skippable frame.
    sh('mkdir samples && for i in $(seq 1 64); do seq $i 7 $((i * 40 + 2000)) > samples/$i; done && zstd -q --train samples/* -o zdict 2>/dev/null');
    sh('zstd -q -D zdict -c disk.img > dictionary.img.zst && printf "\\x50\\x2a\\x4d\\x18\\x04\\x00\\x00\\x00abcd" > skippable-only.img.zst');
    sh('zstd -q -T2 disk.img -o pigz.img.zst');
    // Cut late, so the error comes while writing, not while opening.
    sh('head -c -1000 blocks.img.xz > truncated.img.xz && head -c 2000000 single.img.xz > truncated1.img.xz');
    // Whole, then junk: damaged, not "ends early" (the built-in decoder said so, all input being in).
    sh('cp single.img.xz junk-after.img.xz && echo "garbage here" >> junk-after.img.xz');
    // The last four bytes of a cut .gz read as a size; 1 time in ~140 that size is believable and
    // larger than the device (IMAGE_TOO_LARGE, checked below). Cut where it is not, for a fixed test.
    const gz = readFileSync(file('pigz.img.gz'));
    let cut = 2_000_000;
    for (;;) {
      const size = gzipSizeFromTrailer(gz.readUInt32LE(cut - 4), cut);
      if (size === undefined || size <= 32 * MiB) break;
      cut++;
    }
    writeFileSync(file('truncated.img.gz'), gz.subarray(0, cut));
    sh('head -c 2000000 multi.img.zst > truncated.img.zst');
    sh('head -c 1000000 multi.img.bz2 > truncated.img.bz2 && : > empty.img && seq 1 100000 > text.img && seq 1 100000 | gzip > text.img.gz');
    sh('cp pigz.img.gz corrupt.img.gz && printf "\\xde\\xad\\xbe\\xef\\xde\\xad\\xbe\\xef" | dd of=corrupt.img.gz bs=1 seek=3000000 conv=notrunc 2>/dev/null');
    sh('cp blocks.img.xz corrupt.img.xz && printf "\\xde\\xad\\xbe\\xef\\xde\\xad\\xbe\\xef" | dd of=corrupt.img.xz bs=1 seek=$(( $(stat -c%s blocks.img.xz) - 3000 )) conv=notrunc 2>/dev/null');
    sh('cp multi.img.zst corrupt.img.zst && printf "\\xde\\xad\\xbe\\xef\\xde\\xad\\xbe\\xef" | dd of=corrupt.img.zst bs=1 seek=3000000 conv=notrunc 2>/dev/null');
    sh('cp multi.img.bz2 corrupt.img.bz2 && printf "\\xde\\xad\\xbe\\xef\\xde\\xad\\xbe\\xef" | dd of=corrupt.img.bz2 bs=1 seek=1500000 conv=notrunc 2>/dev/null');
    // A truncated .gz whose last four bytes read as a 100 MiB ISIZE (the device has 32 MiB): the
    // truncation must be reported, not "image too large".
    // …and one where it is: 40 MiB, believable for 2 MB of gzip, more than the device's 32 MiB.
    sh('head -c 2000000 pigz.img.gz > big-trailer.img.gz && printf "\\x00\\x00\\x80\\x02" | dd of=big-trailer.img.gz bs=1 seek=1999996 conv=notrunc 2>/dev/null');
    sh('head -c 2000000 pigz.img.gz > garbage-trailer.img.gz && printf "\\x00\\x00\\x40\\x06" | dd of=garbage-trailer.img.gz bs=1 seek=1999996 conv=notrunc 2>/dev/null');
  });
  after(() => {
    dev?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
}

for (const family of ['builtin', 'system'] as const) describe(`compressed images on loop devices (${family} decoders)`, { skip }, () => {
  let runsBefore = 0;
  let threadsBefore = 0;
  beforeEach(() => {
    process.env.BLOCKWISE_DECODER = family;
    runsBefore = toolRunsStarted();
    threadsBefore = zstdThreadRuns();
  });
  afterEach(async () => {
    delete process.env.BLOCKWISE_DECODER;
    await noToolLeft();
  });
  /** Under `system`, xz/zstd/bzip2/gzip went through a tool; under `builtin`, none did. */
  const usedTools = (formats: string[]) => {
    const toolFormat = formats.some((f) => f !== 'zip' && f !== 'raw');
    assert.equal(toolRunsStarted() > runsBefore, family === 'system' && toolFormat, `decoder family ${family}`);
    // A local .zst is decoded by libzstd on a thread of its own (Node's zlib, or the zstd-napi addon).
    const zstdThread = family === 'builtin' && formats[0] === 'zstd' && zstdThreadEngine() !== undefined;
    assert.equal(zstdThreadRuns() > threadsBefore, zstdThread, `zstd thread (${family}, ${formats.join('+')})`);
  };

  const good: Array<[string, string | undefined, string[], boolean]> = [
    ['multi.img.gz', undefined, ['gzip'], false],
    ['pigz.img.gz', undefined, ['gzip'], true],
    ['blocks.img.xz', undefined, ['xz'], true],
    ['single.img.xz', undefined, ['xz'], true],
    ['multi.img.zst', undefined, ['zstd'], false], // frames piped through zstd record no content size
    ['pigz.img.zst', undefined, ['zstd'], true],
    ['pzstd.img.zst', undefined, ['zstd'], false], // pzstd's frames record no content size either
    ['multi.img.bz2', undefined, ['bzip2'], false],
    ['deflate.zip', undefined, ['zip'], true],
    ['stored.zip', undefined, ['zip'], true],
    ['two.zip', 'other.img', ['zip'], true],
    ['nested.zip', undefined, ['zip', 'xz'], false],
    ['really-xz.img', undefined, ['xz'], true],
  ];
  for (const [name, entry, formats, sizeKnown] of good) {
    test(`${name}${entry ? ` (entry ${entry})` : ''}: byte-exact on the device and verified`, async () => {
      const info = await inspectImage(file(name), entry);
      assert.deepEqual(info.formats, formats);
      if (sizeKnown) assert.equal(info.imageSize, image.length, 'size known up front');
      const result = await flash(job(name, dev.path, entry));
      assert.equal(result.imageSize, image.length);
      // No checksum: the SHA-256 shown is the stored file's, whole; the image inside is not hashed.
      assert.equal(result.fileSha256, createHash('sha256').update(readFileSync(file(name))).digest('hex'));
      assert.equal(result.imageSha256, undefined);
      assert.ok(result.targets[0]!.ok && result.targets[0]!.verified);
      assert.ok(readBacking(dev, 0, image.length).equals(image), 'device holds the image');
      usedTools(formats);
    });
  }

  test('cancel while decoding: CANCELLED, and no decoder process is left', async () => {
    const controller = new AbortController();
    let error: unknown;
    try {
      await runFlash(job('single.img.xz', dev.path), { signal: controller.signal, onProgress: () => controller.abort() });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof BlockwiseError, `expected CANCELLED, got ${String(error)}`);
    assert.equal(error.code, 'CANCELLED', error.message);
    usedTools(['xz']);
  });

  test('a cut .gz whose last bytes read as a believable size beyond the drive: refused before writing, saying the size may be meaningless', async () => {
    const before = readBacking(dev, 0, 65536);
    const error = await expectError(job('big-trailer.img.gz', dev.path), 'IMAGE_TOO_LARGE');
    assert.match(error.message, /gzip trailer/);
    assert.match(error.message, /download/i);
    assert.ok(readBacking(dev, 0, 65536).equals(before), 'nothing written');
  });

  test('a .bz2 (no recorded size) larger than the drive fails when the drive is full, saying its size in words and that it is incomplete', async () => {
    sh(`truncate -s ${32 * MiB + 1 * MiB} huger.img && bzip2 -1 -c huger.img > huger.img.bz2 && rm huger.img`);
    const error = await expectError(job('huger.img.bz2', dev.path), 'IMAGE_TOO_LARGE');
    assert.match(error.message, /^The image is larger than \/dev\/loop\d+, which holds 33\.6 MB \(33,554,432 bytes\): it did not fit\.$/);
    assert.equal(error.details.offset, 32 * MiB);
    assert.equal(error.details.driveIncomplete, true);
  });

  test('a .tar.gz whose image is larger than the drive is refused by the size in the tar, with no word about the gzip trailer', async () => {
    sh(`truncate -s ${32 * MiB + 4096} huge.img && tar -cf - huge.img | gzip -1 > huge.tar.gz && rm huge.img`);
    const before = readBacking(dev, 0, 65536);
    const error = await expectError(job('huge.tar.gz', dev.path), 'IMAGE_TOO_LARGE');
    assert.match(error.message, /^The image is 33\.6 MB \(33,558,528 bytes\), larger than \/dev\/loop\d+, which holds 33\.6 MB \(33,554,432 bytes\)\. Nothing was written\./);
    assert.doesNotMatch(error.message, /gzip trailer|gzip -t/);
    assert.ok(readBacking(dev, 0, 65536).equals(before), 'nothing written');
  });

  test('a zip with several images lists them and refuses to guess', async () => {
    const info = await inspectImage(file('two.zip'));
    assert.deepEqual(info.entries, ['disk.img', 'other.img']);
    const error = await expectError(job('two.zip', dev.path), 'ARCHIVE_AMBIGUOUS');
    assert.match(error.message, /disk\.img, other\.img/);
  });

  const truncated: Array<[string, string]> = [
    ['truncated.img.xz', 'SOURCE_TRUNCATED'],
    ['truncated1.img.xz', 'SOURCE_TRUNCATED'],
    ['truncated.img.gz', 'SOURCE_TRUNCATED'],
    ['truncated.img.zst', 'SOURCE_TRUNCATED'],
    ['truncated.img.bz2', 'SOURCE_TRUNCATED'],
    ['garbage-trailer.img.gz', 'SOURCE_TRUNCATED'],
    ['corrupt.img.gz', 'SOURCE_CORRUPT'],
    ['corrupt.img.xz', 'SOURCE_CORRUPT'],
    ['junk-after.img.xz', 'SOURCE_CORRUPT'],
    ['corrupt.img.zst', 'SOURCE_CORRUPT'],
    ['corrupt.img.bz2', 'SOURCE_CORRUPT'],
  ];
  for (const [name, code] of truncated) {
    test(`${name}: ${code}, names the file and offset, drive reported incomplete`, async () => {
      const headBefore = readBacking(dev, 0, 65536);
      const error = await expectError(job(name, dev.path), code);
      assert.ok(error.message.includes(name), error.message);
      assert.equal(typeof error.details.offset, 'number');
      assert.ok((error.details.offset as number) > 0);
      // Decoders read ahead: a fault found while opening stops the flash before any write.
      if (error.details.driveIncomplete !== true) assert.ok(readBacking(dev, 0, 65536).equals(headBefore), 'untouched when not reported incomplete');
    });
  }

  const refused: Array<[string, string]> = [
    ['noimage.zip', 'ARCHIVE_NO_IMAGE'],
    ['empty.img', 'SOURCE_EMPTY'],
    ['text.img', 'SOURCE_NOT_IMAGE'],
    ['text.img.gz', 'SOURCE_NOT_IMAGE'],
    ['dictionary.img.zst', 'SOURCE_UNSUPPORTED'],
    ['skippable-only.img.zst', 'SOURCE_NOT_IMAGE'],
  ];
  for (const [name, code] of refused) {
    test(`${name}: refused with ${code} before writing`, async () => {
      const before = readBacking(dev, 0, 65536);
      const error = await expectError(job(name, dev.path), code);
      assert.ok(error.message.includes(name), error.message);
      assert.ok(readBacking(dev, 0, 65536).equals(before), 'nothing was written');
    });
  }

  test('openDecodedStream: an xz stream with no file behind it decodes and reports what it consumed', async () => {
    const reader = await openDecodedStream(createReadStream(file('blocks.img.xz'), { highWaterMark: 65536 }), { name: 'blocks.img.xz' });
    const out: Buffer[] = [];
    const buffer = Buffer.alloc(4 * MiB);
    for (let n; (n = await reader.read(buffer)) > 0; ) out.push(Buffer.from(buffer.subarray(0, n)));
    await reader.close();
    assert.ok(Buffer.concat(out).equals(image));
    assert.deepEqual(reader.info.formats, ['xz']);
    assert.equal(reader.info.size, undefined, 'a stream has no index to read up front');
    const stored = execSync(`sha256sum ${file('blocks.img.xz')}`).toString().split(' ')[0];
    assert.equal(reader.storedSha256?.(), stored);
  });
});
