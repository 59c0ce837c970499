// Whether a failed flash says the drive was left incomplete: exactly when something was written to
// it. The flash decides, not the source that failed (a source cannot know whether a drive is being
// written: `verify` reads the same sources and writes nothing). Real files, real loop devices; what
// a drive was sent is counted by the kernel (/sys/block/loopN/stat).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError, describeError } from '../../shared/errors';
import type { FlashJob, FlashProgress } from '../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { runCompare } from './compare';
import { runFlash } from './flash';
import { HELD_BACK } from './pipeline';
import { gzipSizeFromTrailer } from './sources/gzip-source';
import './sources/register';

const skip = loopSkipReason();
const MiB = 1024 * 1024;
/** Said by describeError when details.driveIncomplete is set. */
const INCOMPLETE = /contents are now incomplete/;

describe('a failed flash says the drive is incomplete exactly when it was written to', { skip }, () => {
  let dir = '';
  const devices: LoopDevice[] = [];
  const device = (fill: 'zero' | 'garbage') => {
    const d = createLoopDevice(16 * MiB, { fill });
    devices.push(d);
    return d;
  };
  // Random data: gzip stores it, so a cut file runs out at the image byte it was cut at.
  const image = randomBytes(8 * MiB);
  const gz = execFileSync('gzip', ['-c', '-1'], { input: image, maxBuffer: 64 * MiB });
  const file = (name: string) => path.join(dir, name);
  /**
   * The .gz cut at about `length` bytes. Its last four are taken for gzip's size trailer where
   * they could be one: cut where they do not pass for a size larger than the drive (which would
   * refuse the flash up front as IMAGE_TOO_LARGE).
   */
  const cut = (length: number) => {
    let n = length;
    while ((gzipSizeFromTrailer(gz.readUInt32LE(n - 4), n) ?? 0) > 16 * MiB) n--;
    return gz.subarray(0, n);
  };

  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-drive-state-');
    // Opening reads the first 64 KiB of the image; the flash's first read asks for 512 KiB.
    writeFileSync(file('early.img.gz'), cut(200 * 1024));
    writeFileSync(file('late.img.gz'), cut(4 * MiB));
  });
  after(() => {
    for (const d of devices) d.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const job = (name: string, dev: LoopDevice): FlashJob => ({ source: { kind: 'file', path: file(name) }, targets: [{ path: dev.path }], options: { verify: true, full: true } });
  async function flashFailing(j: FlashJob, code: string, onProgress: (p: FlashProgress) => void = () => {}): Promise<BlockwiseError> {
    const error = await runFlash(j, { signal: new AbortController().signal, onProgress }).then(
      () => assert.fail(`expected ${code}, but the flash reported success`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BlockwiseError, String(error));
    assert.equal(error.code, code, error.message);
    return error;
  }

  test('an image that fails before its first write, to a drive whose start is blank: nothing written, nothing said', async () => {
    const dev = device('zero');
    const error = await flashFailing(job('early.img.gz', dev), 'SOURCE_TRUNCATED');
    assert.equal(dev.bytesWritten(), 0, 'the drive was sent nothing');
    assert.equal(error.details.driveIncomplete, false);
    assert.doesNotMatch(describeError(error.toJSON()), INCOMPLETE);
  });

  test('the same image to a drive whose start held data: its start was cleared first, so it is said incomplete', async () => {
    const dev = device('garbage');
    const error = await flashFailing(job('early.img.gz', dev), 'SOURCE_TRUNCATED');
    assert.ok(dev.bytesWritten() > 0);
    assert.ok(readBacking(dev, 0, HELD_BACK).equals(Buffer.alloc(HELD_BACK)), 'its old start is gone');
    assert.equal(error.details.driveIncomplete, true);
    assert.match(describeError(error.toJSON()), INCOMPLETE);
  });

  test('an image that fails after writes began is said incomplete, the drive blank before or not', async () => {
    const dev = device('zero');
    const error = await flashFailing(job('late.img.gz', dev), 'SOURCE_TRUNCATED');
    assert.ok(dev.bytesWritten() > 0);
    assert.equal(error.details.driveIncomplete, true);
  });

  test('a raw image file that shrinks while being written is said incomplete too (its reader never said so)', async () => {
    const raw = file('shrinking.img');
    writeFileSync(raw, image);
    const dev = device('zero');
    let cut = false;
    // Once writing starts (the first 512 KiB being read), the file is cut at 1 MiB: the next read runs short.
    const error = await flashFailing(job('shrinking.img', dev), 'SOURCE_TRUNCATED', (p) => {
      if (!cut && p.phase === 'writing') {
        cut = true;
        truncateSync(raw, MiB);
      }
    });
    assert.match(error.message, /shrank while being read/);
    assert.ok(dev.bytesWritten() > 0);
    assert.equal(error.details.driveIncomplete, true);
  });

  test('a wrong checksum: said incomplete only where the body of the image had been written', async () => {
    const checksum = { algorithm: 'sha256' as const, hex: '0'.repeat(64), of: 'image' as const };
    // An image within the held-back head, to a blank drive: nothing goes out before the check.
    writeFileSync(file('tiny.img'), image.subarray(0, 64 * 1024));
    const blank = device('zero');
    const tiny = await flashFailing({ ...job('tiny.img', blank), options: { verify: true, full: true, checksum } }, 'CHECKSUM_MISMATCH');
    assert.equal(blank.bytesWritten(), 0);
    assert.equal(tiny.details.driveIncomplete, false);
    writeFileSync(file('body.img'), image);
    const dev = device('zero');
    const body = await flashFailing({ ...job('body.img', dev), options: { verify: true, full: true, checksum } }, 'CHECKSUM_MISMATCH');
    assert.ok(dev.bytesWritten() > 0);
    assert.equal(body.details.driveIncomplete, true);
  });

  test('verify reads the same failing image and writes nothing: never said incomplete', async () => {
    const dev = device('zero');
    writeFileSync(file('whole.img.gz'), gz);
    await runFlash(job('whole.img.gz', dev), { signal: new AbortController().signal, onProgress: () => {} });
    const written = dev.bytesWritten();
    for (const name of ['early.img.gz', 'late.img.gz']) {
      const error = await runCompare({ source: { kind: 'file', path: file(name) }, target: { path: dev.path } }, { signal: new AbortController().signal, onProgress: () => {} }).then(
        () => assert.fail('expected SOURCE_TRUNCATED'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof BlockwiseError, String(error));
      assert.equal(error.code, 'SOURCE_TRUNCATED', error.message);
      assert.equal(error.details.driveIncomplete, undefined);
      assert.doesNotMatch(describeError(error.toJSON()), INCOMPLETE);
    }
    assert.equal(dev.bytesWritten(), written);
  });
});
