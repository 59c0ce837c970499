// Checksums during a real flash to loop devices: published beside the image or pasted, describing
// the image or the compressed file; a mismatch fails the flash with the partition table unwritten.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import type { ChecksumSpec, FlashJob } from '../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import './sources/register';
import { runFlash } from './flash';
import { sectorsWritten } from './targets/device-geometry';

const skip = loopSkipReason();
if (skip) console.log(`# skipping checksum flash tests: ${skip}`);

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const WRONG = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('checksums while flashing to loop devices', { skip }, () => {
  let root = '';
  let n = 0;
  const image = randomBytes(6 * MiB + 512);
  let gzBytes: Buffer;
  const devices: LoopDevice[] = [];
  const device = () => {
    const d = createLoopDevice(8 * MiB, { fill: 'garbage' });
    devices.push(d);
    return d;
  };
  /** A folder with the image (raw or gz) and the given side files; returns the image path. */
  const folder = (name: string, files: Record<string, string> = {}): string => {
    const dir = path.join(root, String(n++));
    mkdirSync(dir);
    writeFileSync(path.join(dir, name), name.endsWith('.gz') ? gzBytes : image);
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
    return path.join(dir, name);
  };
  const job = (file: string, dev: LoopDevice, checksum?: ChecksumSpec): FlashJob => {
    const j: FlashJob = { source: { kind: 'file', path: file }, targets: [{ path: dev.path }], options: { verify: true, full: true } };
    if (checksum) j.options.checksum = checksum;
    return j;
  };
  const flash = (j: FlashJob) => runFlash(j, { signal: new AbortController().signal, onProgress: () => {} });
  async function mismatch(j: FlashJob, dev: LoopDevice, pattern: RegExp): Promise<void> {
    const error = await flash(j).then(
      () => assert.fail('expected CHECKSUM_MISMATCH, but the flash reported success'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BlockwiseError && error.code === 'CHECKSUM_MISMATCH', String(error));
    assert.match(error.message, pattern);
    assert.equal(error.details.driveIncomplete, true);
    // The body was written, the head was not: the drive does not look bootable.
    assert.ok(readBacking(dev, 0, 8192).equals(Buffer.alloc(8192)), 'partition table area left zeroed');
    assert.ok(readBacking(dev, 2 * MiB, MiB).equals(image.subarray(2 * MiB, 3 * MiB)));
  }

  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    root = mkdtempSync('/dev/shm/blockwise-checksum-flash-');
    gzBytes = execFileSync('gzip', ['-c'], { input: image, maxBuffer: 64 * MiB });
  });
  after(() => {
    for (const d of devices) d.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('a matching IMAGE.sha256 beside a raw image: success, checksumVerified', async () => {
    const dev = device();
    const result = await flash(job(folder('disk.img', { 'disk.img.sha256': `${sha256(image)}  disk.img\n` }), dev));
    assert.equal(result.checksumVerified, true);
    assert.equal(result.imageSha256, sha256(image));
    assert.ok(readBacking(dev, 0, image.length).equals(image));
  });

  test('a mismatching IMAGE.sha256 beside a raw image: CHECKSUM_MISMATCH naming the checksum file', async () => {
    const dev = device();
    await mismatch(job(folder('disk.img', { 'disk.img.sha256': `${WRONG}\n` }), dev), dev, new RegExp(`is ${sha256(image)}, not ${WRONG}, published in .*disk\\.img\\.sha256\\.`));
  });

  test('SHA256SUMS describing the compressed file, or the image inside it', async () => {
    for (const [listed, hex] of [
      ['disk.img.gz', sha256(gzBytes)],
      ['disk.img', sha256(image)],
    ] as const) {
      const dev = device();
      const result = await flash(job(folder('disk.img.gz', { SHA256SUMS: `${WRONG}  unrelated.iso\n${hex}  ${listed}\n` }), dev));
      assert.equal(result.checksumVerified, true, listed);
      assert.equal(result.fileSha256, sha256(gzBytes));
      assert.ok(readBacking(dev, 0, image.length).equals(image));
    }
    const dev = device();
    // The compressed file's hash listed as the image's: it describes other bytes, so it fails.
    await mismatch(job(folder('disk.img.gz', { 'sha256sums.txt': `${sha256(gzBytes)}  disk.img\n` }), dev), dev, /image in disk\.img\.gz/);
    // A bare hash in disk.img.gz.sha256 says nothing of which bytes it describes: the image's passes,
    // the file's too, anything else fails naming both.
    for (const hex of [sha256(image), sha256(gzBytes)]) {
      const result = await flash(job(folder('disk.img.gz', { 'disk.img.gz.sha256': `${hex}\n` }), device()));
      assert.equal(result.checksumVerified, true);
    }
    const dev2 = device();
    await mismatch(job(folder('disk.img.gz', { 'disk.img.gz.sha256': `${WRONG}\n` }), dev2), dev2, /^Neither the SHA-256 of disk\.img\.gz/);
  });

  test('a pasted checksum: auto matches either, image/file only their own bytes', async () => {
    for (const hex of [sha256(image), sha256(gzBytes).toUpperCase()]) {
      const dev = device();
      const result = await flash(job(folder('disk.img.gz'), dev, { algorithm: 'sha256', hex, of: 'auto' }));
      assert.equal(result.checksumVerified, true);
    }
    const dev = device();
    await mismatch(job(folder('disk.img.gz'), dev, { algorithm: 'sha256', hex: WRONG, of: 'auto' }), dev, new RegExp(`^Neither the SHA-256 of disk\\.img\\.gz \\(${sha256(gzBytes)}\\) nor that of the image inside \\(${sha256(image)}\\) is the expected ${WRONG}\\.`));
    const dev2 = device();
    await mismatch(job(folder('disk.img.gz'), dev2, { algorithm: 'sha256', hex: sha256(gzBytes), of: 'image' }), dev2, /not the expected/);
    const dev3 = device();
    const job3 = job(folder('disk.img'), dev3, { algorithm: 'sha256', hex: sha256(image), of: 'file' });
    assert.equal((await flash(job3)).checksumVerified, true, 'raw file: file and image are the same bytes');
  });

  test('zip and tar: the checksum of the archive file itself, wherever the image sits inside it', async () => {
    const dir = path.join(root, String(n++));
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'notes.txt'), 'read me first\n'.repeat(1000));
    writeFileSync(path.join(dir, 'disk.img'), image);
    // The image is the second member and the archive goes on after it (zip: a central directory).
    execFileSync('zip', ['-q', '-1', 'bundle.zip', 'notes.txt', 'disk.img'], { cwd: dir });
    execFileSync('tar', ['-cf', 'bundle.tar', 'notes.txt', 'disk.img'], { cwd: dir });
    for (const archive of ['bundle.zip', 'bundle.tar']) {
      const file = path.join(dir, archive);
      const stored = sha256(readFileSync(file));
      const dev = device();
      const result = await flash(job(file, dev, { algorithm: 'sha256', hex: stored, of: 'auto' }));
      assert.equal(result.checksumVerified, true, archive);
      assert.equal(result.fileSha256, stored, archive);
      assert.ok(readBacking(dev, 0, image.length).equals(image), archive);
      // Without a checksum: the archive's SHA-256 is still shown, the image inside is not hashed.
      const plain = await flash(job(file, device()));
      assert.equal(plain.fileSha256, stored, `${archive}, no checksum`);
      assert.equal(plain.imageSha256, undefined, `${archive}, no checksum`);
    }
  });

  test('a pasted value that is no SHA-256, or a broken IMAGE.sha256, stops before anything is written', async () => {
    const dev = device();
    const before = await sectorsWritten(dev.path);
    await assert.rejects(flash(job(folder('disk.img'), dev, { algorithm: 'sha256', hex: 'abc123', of: 'auto' })), /not a SHA-256 checksum/);
    await assert.rejects(flash(job(folder('disk.img', { 'disk.img.sha256': 'oops\n' }), dev)), /holds no SHA-256 for disk\.img/);
    assert.equal(await sectorsWritten(dev.path), before);
  });
});
