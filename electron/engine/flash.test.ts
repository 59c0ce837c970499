// The engine against real block devices (loop devices): bytes, verification, refusals, cancel.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import type { FlashJob, FlashProgress } from '../../shared/flash-types';
import { assertShowsNothing } from '../test-support/drive-probe';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { runFlash } from './flash';
import './sources/register';

const skip = loopSkipReason();
if (skip) console.log(`# skipping engine loop-device tests: ${skip}`);

const MiB = 1024 * 1024;
let workDir = '';

function makeImage(name: string, size: number): { file: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  // A zero region in the middle, like real images have.
  bytes.fill(0, Math.floor(size / 3), Math.floor(size / 2));
  const file = path.join(workDir, name);
  writeFileSync(file, bytes);
  return { file, bytes };
}

function job(image: string, target: string, verify = true): FlashJob {
  return { source: { kind: 'file', path: image }, targets: [{ path: target }], options: { verify, full: true } };
}

async function flashExpectingError(j: FlashJob, code: string, extra: { beforeVerify?: () => Promise<void>; signal?: AbortSignal } = {}) {
  try {
    await runFlash(j, { signal: extra.signal ?? new AbortController().signal, onProgress: () => {}, beforeVerify: extra.beforeVerify });
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, `expected a BlockwiseError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the flash reported success`);
}

describe('flash engine on loop devices', { skip }, () => {
  const devices: LoopDevice[] = [];
  const device = (size: number, options?: Parameters<typeof createLoopDevice>[1]) => {
    const d = createLoopDevice(size, options);
    devices.push(d);
    return d;
  };

  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    workDir = mkdtempSync('/dev/shm/blockwise-flash-test-');
  });
  after(() => {
    for (const d of devices) d.dispose();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('writes the image byte for byte and verifies it (512-byte sectors, unaligned image end)', async () => {
    const dev = device(64 * MiB, { fill: 'garbage' });
    const { file, bytes } = makeImage('exact.img', 40 * MiB + 12345);
    const events: FlashProgress[] = [];
    const started = performance.now();
    const result = await runFlash(job(file, dev.path), { signal: new AbortController().signal, onProgress: (p) => events.push(p) });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(result.imageSize, bytes.length);
    assert.ok(result.targets[0]!.ok && result.targets[0]!.verified);
    assert.ok(readBacking(dev, 0, bytes.length).equals(bytes), 'device bytes equal the image');
    // The byte right after the image is untouched garbage from before, not zero padding.
    assert.notEqual(readBacking(dev, bytes.length, 4096).toString('hex'), Buffer.alloc(4096).toString('hex'));
    assert.equal(result.imageSha256, require('node:crypto').createHash('sha256').update(bytes).digest('hex'));
    assert.ok(events.some((e) => e.phase === 'writing') && events.some((e) => e.phase === 'verifying'));
    assert.equal(events.at(-1)!.phase, 'done');
    assert.equal(events.at(-1)!.percent, 100);
    // At most ~10 messages a second (phase changes are always sent).
    assert.ok(events.length <= seconds * 10 + 8, `${events.length} progress events in ${seconds.toFixed(2)} s`);
  });

  test('writes a 4Kn device (4096-byte logical sectors)', async () => {
    const dev = device(32 * MiB, { sectorSize: 4096, fill: 'garbage' });
    const { file, bytes } = makeImage('4kn.img', 20 * MiB + 512);
    const result = await runFlash(job(file, dev.path), { signal: new AbortController().signal, onProgress: () => {} });
    assert.ok(result.targets[0]!.verified);
    assert.ok(readBacking(dev, 0, bytes.length).equals(bytes));
  });

  test('verification reads the device, not the page cache: corruption behind the engine is caught at its offset', async () => {
    const dev = device(32 * MiB);
    const { file } = makeImage('corrupt.img', 24 * MiB);
    const badOffset = 17 * MiB + 4242;
    const error = await flashExpectingError(job(file, dev.path), 'VERIFY_MISMATCH', {
      beforeVerify: async () => {
        // Fill the device's page cache with the good data first, so a cached readback would pass…
        const fd = openSync(dev.path, 'r');
        const scratch = Buffer.alloc(MiB);
        for (let pos = 0; pos < 24 * MiB; pos += MiB) readSync(fd, scratch, 0, MiB, pos);
        closeSync(fd);
        // …then change one byte on the "drive" itself, behind the engine's back.
        const backing = openSync(dev.backingFile, 'r+');
        const old = Buffer.alloc(1);
        readSync(backing, old, 0, 1, badOffset);
        writeSync(backing, Buffer.from([old[0]! ^ 0xff]), 0, 1, badOffset);
        closeSync(backing);
      },
    });
    assert.equal(error.details.offset, badOffset);
    assert.match(error.message, new RegExp(`byte ${badOffset}`));
  });

  test('a compressed image is checked too: corruption behind the engine is caught at its offset', async () => {
    const dev = device(32 * MiB);
    const { file, bytes } = makeImage('corrupt-gz.img', 20 * MiB);
    const gz = `${file}.gz`;
    writeFileSync(gz, require('node:zlib').gzipSync(bytes, { level: 1 }));
    const badOffset = 13 * MiB + 99;
    const error = await flashExpectingError(
      { source: { kind: 'file', path: gz }, targets: [{ path: dev.path }], options: { verify: true, full: true } },
      'VERIFY_MISMATCH',
      {
        beforeVerify: async () => {
          const backing = openSync(dev.backingFile, 'r+');
          writeSync(backing, Buffer.from([bytes[badOffset]! ^ 0x5a]), 0, 1, badOffset);
          closeSync(backing);
        },
      },
    );
    assert.equal(error.details.offset, badOffset);
  });

  test('refuses a read-only device without writing', async () => {
    const dev = device(16 * MiB, { readOnly: true });
    const { file } = makeImage('ro.img', 4 * MiB);
    const error = await flashExpectingError(job(file, dev.path), 'TARGET_READ_ONLY');
    assert.match(error.message, /read-only/);
  });

  test('refuses an image larger than the device before writing anything', async () => {
    const dev = device(8 * MiB, { fill: 'garbage' });
    const before = readBacking(dev, 0, 8 * MiB);
    const { file } = makeImage('big.img', 9 * MiB);
    const error = await flashExpectingError(job(file, dev.path), 'IMAGE_TOO_LARGE');
    assert.match(error.message, /larger than/);
    assert.equal(dev.bytesWritten(), 0);
    assert.ok(readBacking(dev, 0, 8 * MiB).equals(before), 'device untouched');
  });

  // A drive nothing holds is opened, and its head read, while the image is still being opened
  // (flash.ts, preflightTarget). A refusal must leave it closed: a leaked O_EXCL handle would make
  // the next flash of that drive fail as "in use".
  test('a refused image or a refused second drive leaves the drives opened early closed and unwritten', async () => {
    const a = device(8 * MiB, { fill: 'garbage' });
    const b = device(8 * MiB, { fill: 'garbage' });
    const before = readBacking(a, 0, 2 * MiB);
    const notes = path.join(workDir, 'notes.img');
    writeFileSync(notes, 'These are notes, not a disk image.\n'.repeat(100));
    const { file } = makeImage('early.img', MiB);
    const expectClosed = (dev: LoopDevice) => {
      const fd = openSync(dev.path, constants.O_RDWR | constants.O_EXCL); // EBUSY while a handle is held
      closeSync(fd);
    };
    const both = (image: string, second: string): FlashJob => ({ ...job(image, a.path), targets: [{ path: a.path }, { path: second }] });

    await flashExpectingError(both(notes, b.path), 'SOURCE_NOT_IMAGE');
    expectClosed(a);
    expectClosed(b);
    await flashExpectingError(both(file, '/dev/blockwise-no-such-drive'), 'TARGET_NOT_FOUND');
    expectClosed(a);
    assert.equal(a.bytesWritten() + b.bytesWritten(), 0, 'nothing written');
    assert.ok(readBacking(a, 0, 2 * MiB).equals(before), 'the old head is still there');
  });

  test('cancel mid-write stops, says the drive is incomplete, and leaves no partition table', async () => {
    const dev = device(64 * MiB, { fill: 'garbage' });
    const { file } = makeImage('cancel.img', 48 * MiB);
    const throttle = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';
    let throttled = false;
    try {
      writeFileSync(throttle, `${dev.majMin} ${8 * MiB}`);
      throttled = true;
    } catch {
      /* no blkio controller: cancel right after the first progress instead */
    }
    try {
      const controller = new AbortController();
      let abortedAt = -1;
      const run = runFlash(job(file, dev.path), {
        signal: controller.signal,
        onProgress: (p) => {
          if (abortedAt < 0 && p.phase === 'writing' && p.position > 2 * MiB) {
            abortedAt = p.position;
            controller.abort();
          }
        },
        beforeVerify: async () => assert.fail('must not reach verification'),
      });
      await assert.rejects(run, (error: unknown) => {
        assert.ok(error instanceof BlockwiseError);
        assert.equal(error.code, 'CANCELLED');
        assert.equal(error.details.driveIncomplete, true);
        return true;
      });
      assert.ok(abortedAt > 0, 'progress was reported before the cancel');
      // The head (partition table, boot code) was zeroed first and never written: not bootable.
      assertShowsNothing(dev.path, 'after cancel');
    } finally {
      if (throttled) writeFileSync(throttle, `${dev.majMin} 0`);
    }
  });

  /** Runs `body` with an ext4 made on `dev` and mounted; skips the test where mounting is impossible. */
  async function withMountedExt4(dev: LoopDevice, t: { skip(message: string): void }, body: (mnt: string) => Promise<void>) {
    execFileSync('mkfs.ext4', ['-q', '-F', dev.path]);
    const mnt = mkdtempSync('/tmp/blockwise-mnt-');
    try {
      try {
        execFileSync('mount', [dev.path, mnt]);
      } catch (e) {
        t.skip(`cannot mount here: ${(e as Error).message}`);
        return;
      }
      try {
        await body(mnt);
      } finally {
        execFileSync('umount', [mnt]);
      }
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  }

  test('refuses a mounted device', async (t) => {
    const dev = device(32 * MiB);
    await withMountedExt4(dev, t, async () => {
      const { file } = makeImage('mounted.img', 4 * MiB);
      const error = await flashExpectingError(job(file, dev.path), 'TARGET_BUSY');
      assert.match(error.message, /in use/);
    });
  });

  test('refuses the drive that holds the image file', async (t) => {
    const dev = device(32 * MiB);
    await withMountedExt4(dev, t, async (mnt) => {
      const image = path.join(mnt, 'on-target.img');
      writeFileSync(image, randomBytes(MiB));
      await flashExpectingError(job(image, dev.path), 'SOURCE_ON_TARGET');
    });
  });

  test('loop devices are refused without the explicit opt-in', async () => {
    const dev = device(8 * MiB);
    const { file } = makeImage('optin.img', MiB);
    delete process.env.BLOCKWISE_INCLUDE_LOOP;
    try {
      const error = await flashExpectingError(job(file, dev.path), 'TARGET_NOT_ALLOWED');
      assert.match(error.message, /BLOCKWISE_INCLUDE_LOOP=1/);
      assert.equal(dev.bytesWritten(), 0);
    } finally {
      process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    }
  });
});

describe('flash engine with a regular file as target', () => {
  test('the file ends up equal to the image', async () => {
    const dir = mkdtempSync('/tmp/blockwise-file-target-');
    try {
      const bytes = randomBytes(3 * MiB + 77);
      const image = path.join(dir, 'in.img');
      writeFileSync(image, bytes);
      const out = path.join(dir, 'out.img');
      writeFileSync(out, Buffer.alloc(5 * MiB, 0xaa)); // longer than the image: must be cut
      const result = await runFlash(
        { source: { kind: 'file', path: image }, targets: [{ path: out }], options: { verify: true, full: true } },
        { signal: new AbortController().signal, onProgress: () => {} },
      );
      assert.ok(result.targets[0]!.verified);
      assert.ok(readFileSync(out).equals(bytes));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an existing file written sparsely holds the image, not its old bytes where the image is free space', async () => {
    const dir = mkdtempSync('/tmp/blockwise-file-target-');
    try {
      const image = path.join(dir, 'fat.img');
      execFileSync('truncate', ['-s', '8M', image]);
      execFileSync('mkfs.vfat', [image], { stdio: 'ignore' });
      const out = path.join(dir, 'out.img');
      writeFileSync(out, Buffer.alloc(12 * MiB, 0xaa));
      const result = await runFlash(
        { source: { kind: 'file', path: image }, targets: [{ path: out }], options: { verify: true, full: false } },
        { signal: new AbortController().signal, onProgress: () => {} },
      );
      assert.ok(result.targets[0]!.verified);
      assert.ok(result.targets[0]!.bytesWritten < 4 * MiB, `only the used blocks were written (${result.targets[0]!.bytesWritten})`);
      assert.ok(readFileSync(out).equals(readFileSync(image)), 'the file is the image byte for byte');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad sources fail with specific errors and no success', async () => {
    const dir = mkdtempSync('/tmp/blockwise-bad-source-');
    try {
      const out = path.join(dir, 'out.img');
      const cases: Array<[string, Buffer | undefined, string]> = [
        ['empty.img', Buffer.alloc(0), 'SOURCE_EMPTY'],
        ['notes.img', Buffer.from('These are my notes, not a disk image.\n'.repeat(100)), 'SOURCE_NOT_IMAGE'],
        ['missing.img', undefined, 'SOURCE_UNREADABLE'],
      ];
      for (const [name, content, code] of cases) {
        const image = path.join(dir, name);
        if (content) writeFileSync(image, content);
        const error = await flashExpectingError(
          { source: { kind: 'file', path: image }, targets: [{ path: out }], options: { verify: true, full: true } },
          code,
        );
        assert.ok(error.message.includes(name), `"${error.message}" names the file`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
