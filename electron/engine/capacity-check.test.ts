// The capacity check on real (loop) drives: a genuine drive passes with its data untouched, a
// counterfeit that wraps is caught with its real size and where it wraps to, one that refuses
// writes past some point is caught to within 1 MiB, and what a flash refuses is refused here too.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { describeCapacityCheck } from '../../shared/capacity-words';
import { createFaultyDrive, fuseSkipReason } from '../test-support/fuse-faults';
import { createLoopDevice, fillGarbage, loopSkipReason } from '../test-support/loop-device';
import { checkCapacity, probeStep } from './capacity-check';
import { blockwiseFailure } from '../test-support/blockwise-failure';

const MiB = 1024 * 1024;
const loopSkip = loopSkipReason();
const fuseSkip = fuseSkipReason();
if (loopSkip) console.log(`# skipping capacity-check drive tests: ${loopSkip}`);
else if (fuseSkip) console.log(`# skipping capacity-check counterfeit tests: ${fuseSkip}`);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const failure = (promise: Promise<unknown>) => blockwiseFailure(promise, 'the check should have been refused');

test('the grid step is a power of two of at least 1 MiB, with at most 128 steps', () => {
  assert.equal(probeStep(64 * MiB), MiB);
  assert.equal(probeStep(128 * MiB), MiB);
  assert.equal(probeStep(129 * MiB), 2 * MiB);
  assert.equal(probeStep(64e9), 512 * MiB); // a "64 GB" card: a fake's 2, 4, 8, 16 or 32 GiB are all multiples
});

describe('capacity check on loop devices', { skip: loopSkip }, () => {
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
  });

  test("a genuine drive passes, and its data is the same afterwards (it was written: the kernel's counters)", async () => {
    const drive = createLoopDevice(96 * MiB, { fill: 'garbage' });
    try {
      const before = sha(readFileSync(drive.backingFile));
      const seen: number[] = [];
      const result = await checkCapacity(drive.path, { onProgress: (done) => seen.push(done) });
      assert.equal(result.verdict, 'genuine');
      assert.equal(result.keeps, 96 * MiB);
      assert.equal(result.claimed, 96 * MiB);
      assert.equal(result.probes, 97, 'every MiB, and the last block');
      assert.equal(result.restored, true);
      assert.equal(result.firstBad, undefined);
      assert.ok(drive.bytesWritten() >= 2 * 97 * 4096, `test blocks and the originals were written (${drive.bytesWritten()} bytes)`);
      assert.equal(sha(readFileSync(drive.backingFile)), before, "the drive's own data is back");
      assert.ok(seen.length > 0 && seen.every((n, i) => i === 0 || n > seen[i - 1]!), 'progress counts up');
    } finally {
      drive.dispose();
    }
  });

  test('a drive with 4096-byte sectors and a size that is not a multiple of the step passes', async () => {
    const drive = createLoopDevice(50 * MiB + 12 * 4096, { fill: 'garbage', sectorSize: 4096 });
    try {
      const before = sha(readFileSync(drive.backingFile));
      const result = await checkCapacity(drive.path);
      assert.equal(result.verdict, 'genuine');
      assert.equal(sha(readFileSync(drive.backingFile)), before);
    } finally {
      drive.dispose();
    }
  });

  test('a cancel puts the data back and says so', async () => {
    const drive = createLoopDevice(64 * MiB, { fill: 'garbage' });
    try {
      const before = sha(readFileSync(drive.backingFile));
      const controller = new AbortController();
      const error = await failure(checkCapacity(drive.path, { signal: controller.signal, onProgress: (done) => done === 100 && controller.abort() }));
      assert.equal(error.code, 'CANCELLED');
      assert.match(error.message, /cancelled\. Its own data was put back\./);
      assert.equal(sha(readFileSync(drive.backingFile)), before);
    } finally {
      drive.dispose();
    }
  });

  test('a cancel on a slow drive: every block is put back, one after the other, however long it takes', async () => {
    // 8 KiB/s of writes: each 4 KiB block takes half a second, so putting 9 back takes longer
    // than the 2 s a cancel waits for a drive that does not answer.
    const drive = createLoopDevice(8 * MiB, { fill: 'garbage' });
    const throttle = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';
    try {
      writeFileSync(throttle, `${drive.majMin} 8192`);
      const before = sha(readFileSync(drive.backingFile));
      const controller = new AbortController();
      // 9 originals read, then the cancel while the 9th test block is being written.
      const error = await failure(checkCapacity(drive.path, { signal: controller.signal, onProgress: (done) => done === 9 + 8 && controller.abort() }));
      assert.equal(error.code, 'CANCELLED');
      assert.equal(error.message, `The check of ${drive.path} was cancelled. Its own data was put back.`);
      assert.equal(sha(readFileSync(drive.backingFile)), before);
    } finally {
      writeFileSync(throttle, `${drive.majMin} 0`);
      drive.dispose();
    }
  });

  test('refuses a loop device without the opt-in, and a regular file', async () => {
    const drive = createLoopDevice(32 * MiB);
    const dir = mkdtempSync(path.join(tmpdir(), 'blockwise-capacity-'));
    try {
      delete process.env.BLOCKWISE_INCLUDE_LOOP;
      const loop = await failure(checkCapacity(drive.path));
      assert.equal(loop.code, 'TARGET_NOT_ALLOWED');
      assert.equal(drive.bytesWritten(), 0);
      process.env.BLOCKWISE_INCLUDE_LOOP = '1';
      const file = path.join(dir, 'card.img');
      writeFileSync(file, Buffer.alloc(MiB));
      const notDrive = await failure(checkCapacity(file));
      assert.equal(notDrive.code, 'TARGET_NOT_ALLOWED');
      assert.match(notDrive.message, /card\.img is not a drive: only a drive's capacity can be checked/);
      assert.equal(sha(readFileSync(file)), sha(Buffer.alloc(MiB)));
    } finally {
      process.env.BLOCKWISE_INCLUDE_LOOP = '1';
      rmSync(dir, { recursive: true, force: true });
      drive.dispose();
    }
  });
});

describe('capacity check on counterfeit drives', { skip: loopSkip ?? fuseSkip }, () => {
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
  });

  test('a card claiming 256 MiB that stores 64 MiB and wraps: caught, with its real size, and its data put back', async () => {
    const drive = await createFaultyDrive({ size: 256 * MiB, wrap: 64 * MiB });
    try {
      fillGarbage(drive.store, 64 * MiB);
      const before = sha(readFileSync(drive.store));
      const result = await checkCapacity(drive.path);
      assert.equal(result.verdict, 'wraps');
      assert.equal(result.keeps, 64 * MiB);
      assert.equal(result.firstBad, 64 * MiB);
      assert.equal(result.wrapsTo, 0);
      assert.equal(result.restored, true);
      assert.equal(sha(readFileSync(drive.store)), before);
    } finally {
      drive.dispose();
    }
  });

  test('a fake that wraps at a size that is no multiple of the step passes (the documented limit), and the words say it could', async () => {
    const drive = await createFaultyDrive({ size: 512 * MiB, wrap: 98 * MiB + 12 * 4096 });
    try {
      const result = await checkCapacity(drive.path);
      assert.equal(result.step, 4 * MiB);
      assert.equal(result.verdict, 'genuine');
      const words = describeCapacityCheck(result);
      assert.match(words.detail, /A fake that caches recent writes, or one that wraps at a size that is not a multiple of 4\.2 MB, could still pass; every flash reads the drive back, which catches it\.$/);
    } finally {
      drive.dispose();
    }
  });

  test('a drive whose writes fail from 100 MiB on: caught to within 1 MiB', async () => {
    const limit = 100 * MiB + 40 * 4096;
    const drive = await createFaultyDrive({ size: 192 * MiB, eioWrite: [[limit, 192 * MiB]] });
    try {
      const result = await checkCapacity(drive.path);
      assert.equal(result.verdict, 'loses');
      assert.equal(result.failure, 'write-failed');
      assert.ok(result.keeps <= limit && result.keeps > limit - MiB, `keeps ${result.keeps}, limit ${limit}`);
      assert.ok(result.firstBad! >= limit && result.firstBad! < limit + MiB, `first bad ${result.firstBad}`);
    } finally {
      drive.dispose();
    }
  });
});

/** Lets the stalled I/O end, and the check's abandoned descriptor close, before the drive is detached. */
async function letGo(release: string): Promise<void> {
  writeFileSync(release, '');
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

describe('capacity check on a drive with a bad block', { skip: loopSkip ?? fuseSkip }, () => {
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
  });

  test('one block that fails, with blocks past it that keep their data: failing (bad blocks), not "keeps data only up to" it', async () => {
    const drive = await createFaultyDrive({ size: 64 * MiB, eioWrite: [[10 * MiB, 10 * MiB + 4096]] });
    try {
      fillGarbage(drive.store, 64 * MiB);
      const result = await checkCapacity(drive.path);
      assert.equal(result.verdict, 'loses', 'nothing larger than what comes before it should be written to it');
      assert.equal(result.firstBad, 10 * MiB);
      assert.equal(result.failure, 'write-failed');
      assert.equal(result.laterKept, 11 * MiB);
      const words = describeCapacityCheck(result);
      assert.equal(words.ok, false);
      assert.equal(words.headline, `${drive.path} failed at the test block at byte 10485760, though blocks past it kept theirs: it has bad blocks, so it is failing.`);
      assert.match(words.detail, /^There, writes fail\. Its capacity is not fake, but what is stored on a failing drive is at risk: copy off what you need and replace it\. Images smaller than 9\.4 MB stay clear of the bad block\./);
    } finally {
      drive.dispose();
    }
  });
});

test('a block that cannot be read even before the test: said so, not that what was written cannot be read back', { skip: loopSkip ?? fuseSkip }, async () => {
  process.env.BLOCKWISE_INCLUDE_LOOP = '1';
  const drive = await createFaultyDrive({ size: 64 * MiB, eioRead: [[10 * MiB, 10 * MiB + 4096]] });
  try {
    fillGarbage(drive.store, 64 * MiB);
    const before = sha(readFileSync(drive.store));
    const result = await checkCapacity(drive.path);
    assert.equal(result.failure, 'read-failed');
    assert.equal(result.unreadable, true);
    assert.equal(result.restored, true);
    const words = describeCapacityCheck(result);
    assert.match(words.detail, /^There, it cannot be read at all \(nothing was written there\)\. /);
    assert.match(words.detail, /Its own data was put back\.$/);
    assert.equal(sha(readFileSync(drive.store)), before);
  } finally {
    drive.dispose();
  }
});

describe('capacity check on drives that go away or stop answering', { skip: loopSkip ?? fuseSkip }, () => {
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
  });

  test('a drive pulled out while test blocks are written: the check says it could not finish and how many blocks may hold test data, not that a flash left it unbootable', async () => {
    const drive = await createFaultyDrive({ size: 64 * MiB, yankAfter: 20 * 4096 });
    try {
      const error = await failure(checkCapacity(drive.path));
      assert.equal(error.code, 'TARGET_NOT_FOUND');
      assert.match(error.message, new RegExp(`^The check of ${drive.path} could not finish: ${drive.path} disappeared at byte \\d+ \\(was it unplugged\\?\\)\\. \\d+ test blocks of 4096 bytes may still be on it instead of its own data: check its files before relying on them\\.$`));
      assert.equal(error.details.driveIncomplete, false, 'nothing was flashed: not "incomplete, will not boot"');
    } finally {
      drive.dispose();
    }
  });

  test('a cancel while the drive does not answer a read ends within seconds, naming it, and says nothing was written yet', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'blockwise-capacity-stall-'));
    const release = path.join(dir, 'release');
    // Reads of the block at 32 MiB hang (until released: after 15 s, so that a check that waits fails instead of hanging).
    const drive = await createFaultyDrive({ size: 64 * MiB, stallRead: [[32 * MiB, 32 * MiB + 4096]], stallUntil: release });
    const releaser = setTimeout(() => writeFileSync(release, ''), 15_000);
    try {
      fillGarbage(drive.store, 64 * MiB);
      const before = sha(readFileSync(drive.store));
      const controller = new AbortController();
      const started = performance.now();
      const pending = checkCapacity(drive.path, { signal: controller.signal });
      setTimeout(() => controller.abort(), 1000);
      const error = await failure(pending);
      const seconds = (performance.now() - started) / 1000;
      assert.ok(seconds < 6, `ended ${seconds.toFixed(1)} s after it started`);
      assert.equal(error.code, 'CANCELLED');
      assert.equal(error.message, `The check of ${drive.path} was cancelled. ${drive.path} is not responding: unplug it. Nothing had been written to it yet.`);
      assert.equal(error.details.unresponsive, true);
      await letGo(release);
      assert.equal(sha(readFileSync(drive.store)), before, 'no test block was written');
    } finally {
      clearTimeout(releaser);
      await letGo(release);
      drive.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a cancel while the drive does not answer a write says test blocks may still be on it, not that its data was put back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'blockwise-capacity-stall-'));
    const release = path.join(dir, 'release');
    const drive = await createFaultyDrive({ size: 64 * MiB, stallAfter: 10 * 4096, stallUntil: release });
    const releaser = setTimeout(() => writeFileSync(release, ''), 15_000);
    try {
      const controller = new AbortController();
      const started = performance.now();
      const pending = checkCapacity(drive.path, { signal: controller.signal });
      setTimeout(() => controller.abort(), 1000);
      const error = await failure(pending);
      assert.ok(performance.now() - started < 6000);
      assert.equal(error.code, 'CANCELLED');
      assert.match(error.message, new RegExp(`^The check of ${drive.path} was cancelled\\. ${drive.path} is not responding: unplug it\\. 11 test blocks of 4096 bytes may still be on it instead of its own data: check its files before relying on them\\.$`));
    } finally {
      clearTimeout(releaser);
      await letGo(release);
      drive.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
