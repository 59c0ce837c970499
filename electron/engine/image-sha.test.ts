// The image's SHA-256 in every mode of a flash (flash-hashes.ts). Without a checksum a raw image
// is hashed beside the flash by a thread reading the file itself; with one, in step with the
// write. Either way it must cover the WHOLE image, including ranges the write skipped (stale bytes
// of deleted files in free space) and the held-back first MiB, and every mode must agree. A
// compressed file without a checksum gets its own SHA-256, not that of the image inside.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FlashJob, FlashProgress, FlashResult } from '../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { buildImage, makeContent, MiB, type BuiltImage } from './block-map/test-images';
import { runFlash } from './flash';
import { HEAD_SIZE } from './pipeline';
import './sources/register';

const skip = loopSkipReason();
if (skip) console.log(`# skipping image SHA-256 loop-device tests: ${skip}`);

describe('image SHA-256 on loop devices', { skip }, () => {
  let work = '';
  let image: BuiltImage;
  let expected = '';
  let dense: BuiltImage;
  let denseSha = '';
  const devices: LoopDevice[] = [];

  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    work = mkdtempSync('/dev/shm/blockwise-image-sha-');
    // 20% of the ext4 was a file, then deleted: its bytes stay in space the block map skips.
    image = buildImage(work, 'sparse.img', 'dos', [{ fs: 'ext4', size: 40 * MiB, type: '83', mkfs: ['-b', '4096'], deleted: 0.2 }], 7);
    expected = createHash('sha256').update(readFileSync(image.file)).digest('hex');
    // Mostly full: the map skips less than a quarter, so the hash is left to verification.
    const content = path.join(work, 'dense-content');
    makeContent(content, 11, 31 * MiB);
    dense = buildImage(work, 'dense.img', 'dos', [{ fs: 'ext4', size: 40 * MiB, type: '83', mkfs: ['-b', '4096', '-m', '0', '-O', '^has_journal'], content, deleted: 0.05 }], 9);
    denseSha = createHash('sha256').update(readFileSync(dense.file)).digest('hex');
  });
  after(() => {
    for (const d of devices.splice(0)) d.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  async function flash(source: string, options: Partial<FlashJob['options']> = {}, events: FlashProgress[] = []): Promise<{ result: FlashResult; device: LoopDevice }> {
    const device = createLoopDevice(Math.max(image.size, dense.size) + 4 * MiB, { fill: 'garbage' });
    devices.push(device);
    const result = await runFlash(
      { source: { kind: 'file', path: source }, targets: [{ path: device.path }], options: { verify: true, full: false, bmapPath: null, ...options } },
      { signal: new AbortController().signal, onProgress: (p) => events.push(p) },
    );
    assert.equal(result.targets[0]?.ok, true, JSON.stringify(result.targets[0]?.error));
    return { result, device };
  }

  test('sparse raw flash, verified, no checksum: the SHA-256 covers the skipped ranges too', async () => {
    const events: FlashProgress[] = [];
    const { result, device } = await flash(image.file, {}, events);
    assert.ok(result.mappedBytes < image.size * 0.9, `the block map must skip something (mapped ${result.mappedBytes} of ${image.size})`);
    // The drive differs from the image in skipped ranges (it holds garbage there), so the digest
    // can only be right if it was taken from the image file, not from what was read back.
    assert.notEqual(createHash('sha256').update(readBacking(device, 0, image.size)).digest('hex'), expected);
    assert.equal(result.imageSha256, expected);
    assert.ok(readBacking(device, 0, HEAD_SIZE).equals(readFileSync(image.file).subarray(0, HEAD_SIZE)), 'the head was written');
    // Writing progress never claims more than has completed, and ends at the image's size.
    const writing = events.filter((e) => e.phase === 'writing');
    assert.equal(writing.at(-1)!.position, image.size);
    assert.ok(writing.every((e) => e.position <= image.size && (e.percent ?? 0) <= 100));
  });

  test('a mostly full image: the SHA-256 still covers the skipped ranges', async () => {
    const { result, device } = await flash(dense.file);
    const skipped = dense.size - result.mappedBytes;
    assert.ok(skipped > 0 && skipped < dense.size / 4, `the map must skip something, but under a quarter (skipped ${skipped} of ${dense.size})`);
    assert.notEqual(createHash('sha256').update(readBacking(device, 0, dense.size)).digest('hex'), denseSha, 'the drive keeps garbage where the map skipped');
    assert.equal(result.imageSha256, denseSha);
  });

  test('the same SHA-256 with a full write, without verification, with a checksum, and from .img.gz', async () => {
    const events: FlashProgress[] = [];
    assert.equal((await flash(image.file, { full: true }, events)).result.imageSha256, expected, 'full write, verified');
    // A full write: progress never runs ahead of completed writes (the held-back head aside).
    for (const e of events.filter((e) => e.phase === 'writing')) {
      assert.ok(e.position <= e.targets[0]!.bytesWritten + HEAD_SIZE, `position ${e.position} ahead of ${e.targets[0]!.bytesWritten} bytes written`);
    }
    const unverified = (await flash(image.file, { verify: false })).result;
    assert.equal(unverified.imageSha256, expected, 'no verification: hashed while writing');
    assert.equal(unverified.targets[0]!.verified, false);
    const checked = (await flash(image.file, { checksum: { algorithm: 'sha256', hex: expected, of: 'image' } })).result;
    assert.equal(checked.imageSha256, expected, 'checksum given: hashed before the head');
    assert.equal(checked.checksumVerified, true);
    const gz = path.join(work, 'sparse.img.gz');
    execFileSync('sh', ['-c', `gzip -1 -c "${image.file}" > "${gz}"`]);
    const gzSha = createHash('sha256').update(readFileSync(gz)).digest('hex');
    const plainGz = (await flash(gz)).result;
    assert.equal(plainGz.fileSha256, gzSha, '.img.gz: the file as stored');
    assert.equal(plainGz.imageSha256, undefined, '.img.gz without a checksum: the image inside is not hashed');
    const checkedGz = (await flash(gz, { checksum: { algorithm: 'sha256', hex: expected, of: 'auto' } })).result;
    assert.equal(checkedGz.imageSha256, expected, '.img.gz with a checksum of the image');
    assert.equal(checkedGz.fileSha256, gzSha);
  });

  test('a wrong checksum still stops the flash before the head, with hashing while writing', async () => {
    const wrong = 'ab'.repeat(32);
    await assert.rejects(
      flash(image.file, { checksum: { algorithm: 'sha256', hex: wrong, of: 'image' } }),
      (error: Error & { code?: string }) => error.code === 'CHECKSUM_MISMATCH' && error.message.includes(expected),
    );
  });
});
