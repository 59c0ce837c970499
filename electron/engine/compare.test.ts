// `verify IMAGE --against DEVICE` (runCompare) on real loop devices: drives of both sector sizes,
// images that end anywhere.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BlockwiseError } from '../../shared/errors';
import { createLoopDevice, loopSkipReason, type LoopDevice } from '../test-support/loop-device';
import { runCompare } from './compare';
import './sources/register';

const MiB = 1024 * 1024;

function compare(image: string, device: string) {
  return runCompare({ source: { kind: 'file', path: image }, target: { path: device } }, { signal: new AbortController().signal, onProgress: () => {} });
}

describe('verify --against a drive (loop devices)', { skip: loopSkipReason() }, () => {
  let dir = '';
  const devices: LoopDevice[] = [];
  before(() => {
    dir = mkdtempSync('/dev/shm/blockwise-compare-test-');
  });
  after(() => {
    for (const d of devices) d.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  // A 4Kn drive takes O_DIRECT reads of whole 4096-byte blocks only: the image's last, partial
  // block was read as a 512-byte multiple, and the kernel's EINVAL was reported as a read error.
  for (const size of [1000, 5 * MiB + 1536, 3 * MiB + 777]) {
    test(`a 4Kn drive holding an image of ${size} bytes (ending mid-block) compares equal; a changed last byte is found`, async () => {
      const dev = createLoopDevice(8 * MiB, { sectorSize: 4096, fill: 'garbage' });
      devices.push(dev);
      const bytes = randomBytes(size);
      const image = path.join(dir, `4kn-${size}.img`);
      writeFileSync(image, bytes);
      writeFileSync(dev.backingFile, bytes, { flag: 'r+' });
      const result = await compare(image, dev.path);
      assert.equal(result.imageSize, size);
      assert.equal(result.bytesCompared, size);

      bytes[size - 1] = bytes[size - 1]! ^ 0xff;
      writeFileSync(image, bytes);
      await assert.rejects(compare(image, dev.path), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError, String(error));
        assert.equal(error.code, 'VERIFY_MISMATCH', error.message);
        assert.equal(error.details.offset, size - 1);
        return true;
      });
    });
  }

  // What verify asks is whether the drive holds the image: one that ends first does not. Said as
  // IMAGE_TOO_LARGE, the advice was a flash's (a larger drive, free space on the filesystem).
  test('a drive or image file that ends before the image differs from it where it ends (VERIFY_MISMATCH), the image\'s size known or not', async () => {
    const bytes = randomBytes(3 * MiB + 4096);
    const image = path.join(dir, 'longer.img');
    writeFileSync(image, bytes);
    const short = path.join(dir, 'short.img');
    writeFileSync(short, bytes.subarray(0, 2 * MiB + 1000));
    const dev = createLoopDevice(2 * MiB);
    devices.push(dev);
    writeFileSync(dev.backingFile, bytes.subarray(0, 2 * MiB), { flag: 'r+' });
    const gz = path.join(dir, 'longer.img.gz');
    writeFileSync(gz, gzipSync(bytes));
    for (const [source, target, ends] of [
      [image, short, 2 * MiB + 1000],
      [image, dev.path, 2 * MiB],
      [gz, dev.path, 2 * MiB],
    ] as const) {
      await assert.rejects(compare(source, target), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError, String(error));
        assert.equal(error.code, 'VERIFY_MISMATCH', error.message);
        assert.equal(error.details.offset, ends);
        assert.match(error.message, new RegExp(`differs from the image at byte ${ends}: it ends there`));
        return true;
      });
    }
  });
});
