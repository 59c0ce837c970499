// The engine against drives that fail: a write error at an offset, a stick pulled out mid-write, a
// counterfeit card that wraps, a read error during readback, and a cancel. Faulty drives are loop
// devices on a FUSE file (electron/test-support/faulty-fs.py). None of these may ever report
// success, and none may leave a drive that shows a partition table or filesystem (drive-probe.ts).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import type { FlashJob, FlashProgress } from '../../shared/flash-types';
import { assertShowsNothing } from '../test-support/drive-probe';
import { createFaultyDrive, fuseSkipReason, type FaultOptions, type FaultyDrive } from '../test-support/fuse-faults';
import { sendWithRanges } from '../test-support/http-ranges';
import { createLoopDevice, loopSkipReason, readFileRange } from '../test-support/loop-device';
import { runCompare } from './compare';
import { runFlash, type FlashContext } from './flash';
import { HEAD_SIZE } from './pipeline';
import { findExecutable } from './sources/decoder-choice';
import './sources/register';

const MiB = 1024 * 1024;
const skip = fuseSkipReason();
if (skip) console.log(`# skipping fault-injection tests: ${skip}`);
const loopSkip = loopSkipReason();
const THROTTLE = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';

let workDir = '';

function makeImage(name: string, size: number): { file: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  // Something that looks like a boot sector, so "the head was never written" is visible.
  bytes[510] = 0x55;
  bytes[511] = 0xaa;
  const file = path.join(workDir, name);
  writeFileSync(file, bytes);
  return { file, bytes };
}

function job(image: string, ...targets: string[]): FlashJob {
  return { source: { kind: 'file', path: image }, targets: targets.map((p) => ({ path: p })), options: { verify: true, full: true } };
}

async function expectFailure(j: FlashJob, context: Partial<FlashContext> | AbortSignal = {}): Promise<BlockwiseError> {
  const given = context instanceof AbortSignal ? { signal: context } : context;
  try {
    await runFlash(j, { signal: new AbortController().signal, onProgress: () => {}, ...given });
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, `expected a BlockwiseError, got ${String(error)}`);
    return error;
  }
  assert.fail('the flash reported success on a failing drive');
}

/**
 * Runs `j` and presses Cancel as soon as progress first reports a silent drive (after 1 s of
 * silence): the failure, the seconds the cancel took, and the phase the drive fell silent in.
 */
async function cancelOnceSilent(j: FlashJob): Promise<{ error: BlockwiseError; took: number; phase: string }> {
  const controller = new AbortController();
  let cancelledAt = 0;
  let phase = '';
  const error = await expectFailure(j, {
    signal: controller.signal,
    stallNoticeMs: 1000,
    onProgress: (p) => {
      if (!cancelledAt && p.targets[0]?.stalledSeconds !== undefined) {
        cancelledAt = performance.now();
        phase = p.phase;
        controller.abort();
      }
    },
  });
  assert.ok(cancelledAt > 0, 'the drive was never reported silent');
  return { error, took: (performance.now() - cancelledAt) / 1000, phase };
}

function readStore(drive: FaultyDrive, position: number, length: number): Buffer {
  return readFileRange(drive.store, position, length);
}

/** Puts an old partition table and garbage in the drive's first MiB, behind the engine's back. */
function plantOldHead(drive: FaultyDrive): void {
  const garbage = randomBytes(HEAD_SIZE);
  garbage[510] = 0x55;
  garbage[511] = 0xaa;
  const fd = openSync(drive.store, 'r+');
  try {
    writeSync(fd, garbage, 0, garbage.length, 0);
  } finally {
    closeSync(fd);
  }
}

describe('flash engine on faulty drives (FUSE)', { skip }, () => {
  const drives: FaultyDrive[] = [];
  const faulty = async (options: FaultOptions) => {
    const d = await createFaultyDrive(options);
    drives.push(d);
    return d;
  };

  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    workDir = mkdtempSync('/dev/shm/blockwise-faults-test-');
  });
  after(() => {
    for (const d of drives) d.dispose();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('a write error at an offset fails with WRITE_IO_ERROR naming that offset, and the head stays zeroed', async () => {
    const bad: [number, number] = [10 * MiB + 8192, 10 * MiB + 8192 + 65536];
    const drive = await faulty({ size: 32 * MiB, eioWrite: [bad] });
    plantOldHead(drive);
    const { file } = makeImage('eio.img', 24 * MiB);
    const error = await expectFailure(job(file, drive.path));
    assert.equal(error.code, 'WRITE_IO_ERROR', error.message);
    const offset = error.details.offset;
    assert.ok(typeof offset === 'number' && offset >= bad[0] && offset < bad[1], `offset ${offset} should be in [${bad[0]}, ${bad[1]})`);
    assert.equal(error.details.driveIncomplete, true);
    assert.match(error.message, new RegExp(`byte ${offset}`));
    assertShowsNothing(drive.store, 'after a write error');
  });

  test('a stick pulled out mid-write gives a clear error, no hang, and no partition table', async () => {
    const drive = await faulty({ size: 64 * MiB, yankAfter: 12 * MiB });
    plantOldHead(drive);
    const { file } = makeImage('yank.img', 48 * MiB);
    const error = await expectFailure(job(file, drive.path));
    assert.ok(['TARGET_NOT_FOUND', 'WRITE_IO_ERROR'].includes(error.code), `${error.code}: ${error.message}`);
    assert.equal(error.details.driveIncomplete, true);
    assert.match(error.message, new RegExp(drive.path));
    assert.match(error.message, /byte \d+/);
    assertShowsNothing(drive.store, 'after the drive vanished');
  });

  test('a drive that stops answering is reported as not responding while the flash waits, and the flash ends well once it answers', async () => {
    const release = path.join(workDir, 'release-stall');
    const drive = await faulty({ size: 32 * MiB, stallAfter: 6 * MiB, stallUntil: release });
    const { file, bytes } = makeImage('stall.img', 16 * MiB);
    const seen: FlashProgress[] = [];
    // Released 2.5 s after the first notice; at 30 s regardless, so a missing notice fails the test instead of hanging it.
    const safety = setTimeout(() => writeFileSync(release, ''), 30_000);
    let released = false;
    try {
      const result = await runFlash(job(file, drive.path), {
        signal: new AbortController().signal,
        stallNoticeMs: 1000,
        onProgress: (p) => {
          seen.push(p);
          if (!released && p.targets[0]?.stalledSeconds !== undefined) {
            released = true;
            setTimeout(() => writeFileSync(release, ''), 2500);
          }
        },
      });
      assert.ok(result.targets[0]!.ok && result.targets[0]!.verified, 'written and verified once the drive answered');
      assert.ok(readStore(drive, 0, bytes.length).equals(bytes));
    } finally {
      clearTimeout(safety);
    }
    const notices = seen.map((p) => p.targets[0]?.stalledSeconds).filter((s): s is number => s !== undefined);
    assert.ok(released, 'no progress event said the drive was not responding');
    assert.ok(notices.length >= 2, `said once a second while silent, not once: ${notices.join(', ')}`);
    assert.ok(notices.at(-1)! > notices[0]!, `the silence grows: ${notices.join(', ')}`);
    assert.equal(seen.at(-1)!.targets[0]!.stalledSeconds, undefined, 'no notice once it answered');
  });

  test('cancel while a drive is silent ends in seconds, not when the drive answers, and says it has a write pending', async () => {
    const release = path.join(workDir, 'release-dead');
    // This drive would stay silent for 120 s: far past the test's 30 s bound below.
    const drive = await faulty({ size: 32 * MiB, stallAfter: 6 * MiB, stallUntil: release });
    const { file } = makeImage('dead.img', 16 * MiB);
    try {
      const { error, took } = await cancelOnceSilent(job(file, drive.path));
      assert.equal(error.code, 'CANCELLED', error.message);
      assert.ok(took < 30, `the cancel took ${took.toFixed(1)} s: it waited for the drive`);
      assert.match(error.message, new RegExp(`${drive.path} is not responding and still has a write pending: unplug it`));
      assert.equal(error.details.driveIncomplete, true);
    } finally {
      writeFileSync(release, ''); // let the pending write end, so the drive can be detached
    }
  });

  test('cancel while a drive is silent reading back says its data was not verified, not that a write is pending', async () => {
    const release = path.join(workDir, 'release-dead-read');
    // Writes go through; reading back [8 MiB, 9 MiB) hangs for 120 s, far past the 30 s bound below.
    const drive = await faulty({ size: 32 * MiB, stallRead: [[8 * MiB, 9 * MiB]], stallUntil: release });
    const { file } = makeImage('dead-read.img', 16 * MiB);
    try {
      const { error, took, phase } = await cancelOnceSilent(job(file, drive.path));
      assert.equal(phase, 'verifying', 'silent while reading back');
      assert.equal(error.code, 'CANCELLED', error.message);
      assert.ok(took < 30, `the cancel took ${took.toFixed(1)} s: it waited for the drive`);
      assert.match(error.message, new RegExp(`${drive.path} is not responding and did not finish reading back what was written: unplug it; that data was not verified`));
      assert.doesNotMatch(error.message, /write pending/);
      assert.equal(error.details.driveIncomplete, false, 'written and flushed before the readback: unchecked, not incomplete');
    } finally {
      writeFileSync(release, '');
    }
  });

  test('a drive silent from its first read: reported as not responding, and cancel ends in seconds without writing to it', async () => {
    const release = path.join(workDir, 'release-dead-head');
    // Reading the drive's first MiB (its old head, read before anything is written) hangs for 120 s.
    const drive = await faulty({ size: 32 * MiB, stallRead: [[0, HEAD_SIZE]], stallUntil: release });
    plantOldHead(drive);
    const before = readStore(drive, 0, HEAD_SIZE);
    const { file } = makeImage('dead-head.img', 16 * MiB);
    try {
      const { error, took } = await cancelOnceSilent(job(file, drive.path));
      assert.equal(error.code, 'CANCELLED', error.message);
      assert.ok(took < 30, `the cancel took ${took.toFixed(1)} s: it waited for the drive`);
      assert.match(error.message, new RegExp(`${drive.path} is not responding`));
      assert.match(error.message, /did not answer when its first blocks were read, so nothing was written to it/);
      assert.equal(error.details.driveIncomplete, false, 'nothing was written to it');
    } finally {
      writeFileSync(release, '');
    }
    // Nothing was sent to the drive after the cancel: its old head is as it was.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(readStore(drive, 0, HEAD_SIZE).equals(before), 'the drive was written to after the cancel');
  });

  test('a counterfeit card (stores 16 MiB, claims 64 MiB) fails verification at the first bad byte', async () => {
    const wrap = 16 * MiB;
    const drive = await faulty({ size: 64 * MiB, wrap });
    const { file, bytes } = makeImage('fake.img', 40 * MiB);
    const error = await expectFailure(job(file, drive.path));
    assert.equal(error.code, 'VERIFY_MISMATCH', error.message);
    // What the card returns for byte X is what it stored at X mod 16 MiB.
    const stored = readStore(drive, 0, wrap);
    let expected = -1;
    for (let i = 0; i < bytes.length; i++) {
      if (stored[i % wrap] !== bytes[i]) {
        expected = i;
        break;
      }
    }
    assert.ok(expected >= 0, 'the wrapped card must differ from the image somewhere');
    assert.equal(error.details.offset, expected);
    assert.match(error.message, new RegExp(`byte ${expected}`));
    assert.equal(error.details.driveIncomplete, true);
  });

  // The head goes out last, so a write error there comes after everything else is on the drive.
  // Naming the failing block rewrote the blocks before it (test: a whole-drive ext4, whose
  // superblock sits in the first block): the drive was left showing the image's filesystem.
  test('a write error in the held-back head, the last write: WRITE_IO_ERROR, and the drive shows nothing', { skip: findExecutable('mkfs.ext4') ? undefined : 'mkfs.ext4 is not installed' }, async () => {
    const drive = await faulty({ size: 64 * MiB, eioWrite: [[4096, 8192]] });
    const file = path.join(workDir, 'whole-ext4.img');
    closeSync(openSync(file, 'w'));
    truncateSync(file, 32 * MiB);
    execFileSync('mkfs.ext4', ['-q', '-F', '-L', 'whole', file], { stdio: 'ignore' });
    const error = await expectFailure(job(file, drive.path));
    assert.equal(error.code, 'WRITE_IO_ERROR', error.message);
    assert.equal(error.details.offset, 4096);
    assert.equal(error.details.driveIncomplete, true);
    assertShowsNothing(drive.store, 'after a write error in the head');
  });

  test('a read error during verification fails with READ_IO_ERROR, never success', async () => {
    const bad: [number, number] = [20 * MiB, 20 * MiB + 4096];
    const drive = await faulty({ size: 32 * MiB, eioRead: [bad] });
    const { file, bytes } = makeImage('readerr.img', 30 * MiB);
    const error = await expectFailure(job(file, drive.path));
    assert.equal(error.code, 'READ_IO_ERROR', error.message);
    assert.match(error.message, new RegExp(drive.path));
    // The write itself went through: the bytes are there, only reading them back failed.
    assert.ok(readStore(drive, 0, bytes.length).equals(bytes));
  });

  // Every write is taken, then the drive is gone when they are flushed: a flush has no byte, and
  // "failed at byte 0" named one that had been written fine.
  test('a drive that fails the flush after the last write: WRITE_IO_ERROR, incomplete, naming no byte', async () => {
    const size = 8 * MiB;
    const drive = await faulty({ size: 32 * MiB, yankAfter: size });
    const { file } = makeImage('flush.img', size);
    const error = await expectFailure(job(file, drive.path));
    assert.equal(error.code, 'WRITE_IO_ERROR', error.message);
    assert.equal(error.details.driveIncomplete, true);
    assert.equal(error.details.offset, undefined);
    assert.doesNotMatch(error.message, /at byte/);
    assert.match(error.message, new RegExp(`^Writing ${drive.path} failed while its last writes were being flushed: .*fsync`));
  });

  // Readback reads 4 MiB at a time: the error named the start of that read, a byte that reads fine.
  test('a read error names the first byte that cannot be read, in readback and in verify --against', async () => {
    const bad: [number, number] = [10 * MiB + 8192, 10 * MiB + 12288];
    const drive = await faulty({ size: 32 * MiB, eioRead: [bad] });
    const { file } = makeImage('readerr-offset.img', 24 * MiB);
    const error = await expectFailure(job(file, drive.path));
    assert.equal(error.code, 'READ_IO_ERROR', error.message);
    assert.equal(error.details.offset, bad[0]);
    assert.match(error.message, new RegExp(`failed at byte ${bad[0]}:`));
    const compared = await runCompare({ source: { kind: 'file', path: file }, target: { path: drive.path } }, { signal: new AbortController().signal, onProgress: () => {} }).then(
      () => assert.fail('verify --against passed a drive that cannot be read'),
      (e: unknown) => e,
    );
    assert.ok(compared instanceof BlockwiseError, String(compared));
    assert.equal(compared.code, 'READ_IO_ERROR', compared.message);
    assert.equal(compared.details.offset, bad[0]);
  });

  // verify --against had no watch on the drive: silent on a read, it was never said to be, and a
  // cancel waited for it until the host gave up on the whole engine (10 s), saying to flash
  // drives again that nothing had written to.
  test('verify --against a drive silent on a read: reported as not responding, and cancel ends in seconds saying nothing was written', async () => {
    const release = path.join(workDir, 'release-compare');
    const drive = await faulty({ size: 32 * MiB, stallRead: [[10 * MiB, 10 * MiB + 4096]], stallUntil: release });
    const { file, bytes } = makeImage('compare-silent.img', 16 * MiB);
    const fd = openSync(drive.store, 'r+');
    try {
      writeSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      closeSync(fd);
    }
    const controller = new AbortController();
    let cancelledAt = 0;
    try {
      const error = await runCompare(
        { source: { kind: 'file', path: file }, target: { path: drive.path } },
        {
          signal: controller.signal,
          stallNoticeMs: 1000,
          onProgress: (p) => {
            if (!cancelledAt && p.targets.some((t) => t.path === drive.path && t.stalledSeconds !== undefined)) {
              cancelledAt = performance.now();
              controller.abort();
            }
          },
        },
      ).then(
        () => assert.fail('verify --against passed a drive that did not answer'),
        (e: unknown) => e,
      );
      assert.ok(cancelledAt > 0, 'the drive was never reported silent');
      const took = (performance.now() - cancelledAt) / 1000;
      assert.ok(took < 5, `the cancel took ${took.toFixed(1)} s: it waited for the silent drive`);
      assert.ok(error instanceof BlockwiseError, String(error));
      assert.equal(error.code, 'CANCELLED', error.message);
      assert.equal(error.details.driveIncomplete, false);
      assert.match(error.message, new RegExp(`^Verification was cancelled\\. ${drive.path} is not responding`));
      assert.doesNotMatch(error.message, /write pending|flash it again|what was written/);
    } finally {
      writeFileSync(release, '');
    }
  });
});

describe('a cancelled flash leaves no partition table', { skip: loopSkip }, () => {
  test('cancel mid-write: CANCELLED, driveIncomplete, nothing to recognise on the drive', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const dir = mkdtempSync('/dev/shm/blockwise-cancel-test-');
    const device = createLoopDevice(96 * MiB, { fill: 'garbage' });
    try {
      workDir = dir;
      const { file } = makeImage('cancel.img', 80 * MiB);
      const controller = new AbortController();
      // A RAM-backed device takes 80 MiB in well under the meter's 100 ms between reports, so it is
      // slowed to SD-card speed (when the blkio throttle exists) to cancel truly mid-write.
      const throttled = existsSync(THROTTLE);
      if (throttled) writeFileSync(THROTTLE, `${device.majMin} 20000000`);
      const error = await (async () => {
        try {
          await runFlash(job(file, device.path), {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.phase === 'writing' && (!throttled || p.position >= 8 * MiB)) controller.abort();
            },
          });
        } catch (e) {
          return e as BlockwiseError;
        } finally {
          if (throttled) writeFileSync(THROTTLE, `${device.majMin} 0`);
        }
        assert.fail('a cancelled flash reported success');
      })();
      assert.equal(error.code, 'CANCELLED', error.message);
      assert.equal(error.details.driveIncomplete, true);
      assertShowsNothing(device.path, 'after cancel');
    } finally {
      device.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('cancel while the image is still being opened: CANCELLED at once, not when the server answers, and not one byte written to the drive', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const device = createLoopDevice(16 * MiB, { fill: 'garbage' });
    const image = randomBytes(4 * MiB);
    // The image's server answers 5 s late; Cancel is pressed meanwhile, before anything is written.
    let answered = false;
    const server = http.createServer((req, res) => {
      setTimeout(() => {
        answered = true;
        sendWithRanges(req, res, image);
      }, 5000);
    });
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const error = await expectFailure(
        { source: { kind: 'url', url: `http://127.0.0.1:${port}/late.img` }, targets: [{ path: device.path }], options: { verify: true, full: false } },
        controller.signal,
      );
      assert.equal(error.code, 'CANCELLED', error.message);
      assert.match(error.message, /before anything was written/);
      assert.equal(answered, false, 'the cancel waited for the server to answer');
      assert.equal(error.details.driveIncomplete, false);
      assert.equal(device.bytesWritten(), 0, 'the cancelled flash wrote to the drive');
    } finally {
      server.closeAllConnections();
      server.close();
      device.dispose();
    }
  });
});

// A drive write-protected mid-write (a stick's lock switch; here `blockdev --setro`): the kernel
// answers EPERM, which was said as the drive failing to store data ("try another port or card
// reader; the card may be failing").
describe('a drive that becomes read-only mid-write', { skip: loopSkip ?? (existsSync(THROTTLE) ? undefined : 'the blkio throttle is not available') }, () => {
  test('TARGET_READ_ONLY naming the drive and the byte, incomplete', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const dir = mkdtempSync('/dev/shm/blockwise-setro-test-');
    const device = createLoopDevice(32 * MiB);
    try {
      workDir = dir;
      const { file } = makeImage('setro.img', 24 * MiB);
      let protectedAt = 0;
      writeFileSync(THROTTLE, `${device.majMin} 20000000`);
      const error = await (async () => {
        try {
          await runFlash(job(file, device.path), {
            signal: new AbortController().signal,
            onProgress: (p) => {
              if (!protectedAt && p.phase === 'writing' && p.position > 0) {
                protectedAt = p.position;
                execFileSync('blockdev', ['--setro', device.path]);
              }
            },
          });
        } catch (e) {
          return e;
        } finally {
          writeFileSync(THROTTLE, `${device.majMin} 0`);
          execFileSync('blockdev', ['--setrw', device.path]);
        }
        assert.fail('a flash to a write-protected drive reported success');
      })();
      assert.ok(protectedAt > 0, 'the drive was never write-protected');
      assert.ok(error instanceof BlockwiseError, String(error));
      assert.equal(error.code, 'TARGET_READ_ONLY', error.message);
      assert.match(error.message, new RegExp(`^${device.path} became read-only \\(write-protected\\) at byte \\d+\\.$`));
      assert.equal(error.details.driveIncomplete, true);
    } finally {
      device.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A slow card answers, only slowly: one 2 MiB write at 350 kB/s takes 6 s in the kernel, its
// 128 KiB requests completing one by one. Counting only whole writes, the flash said such a drive
// "has not responded" while its sectors went out steadily (a tired card at 150 kB/s, with the
// real 10 s notice, likewise); the kernel's own count of the drive's completed sectors shows it
// moving. The drive: a loop device over a throttled one, writing to it directly, so that its
// requests are slowed one by one (the throttle on the drive itself holds a whole write back).
describe('a slow drive is not said to be silent', { skip: loopSkip ?? (existsSync(THROTTLE) ? undefined : 'the blkio throttle is not available') }, () => {
  test('a drive writing at 350 kB/s, with the silence notice at 4 s: never reported as not responding', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const dir = mkdtempSync('/dev/shm/blockwise-slow-test-');
    const beneath = createLoopDevice(16 * MiB);
    let slow = '';
    try {
      workDir = dir;
      slow = execFileSync('losetup', ['-f', '--show', '--direct-io=on', beneath.path], { encoding: 'utf8' }).trim();
      writeFileSync(`/sys/block/${path.basename(slow)}/queue/max_sectors_kb`, '128');
      const { file, bytes } = makeImage('slow.img', 4 * MiB);
      const silent: number[] = [];
      writeFileSync(THROTTLE, `${beneath.majMin} 350000`);
      try {
        await runFlash(job(file, slow), {
          signal: new AbortController().signal,
          stallNoticeMs: 4000,
          onProgress: (p) => {
            const s = p.targets[0]?.stalledSeconds;
            if (s !== undefined) silent.push(s);
          },
        });
      } finally {
        writeFileSync(THROTTLE, `${beneath.majMin} 0`);
      }
      assert.deepEqual(silent, [], 'a drive that is writing was said not to respond');
      assert.ok(readFileRange(beneath.backingFile, 0, bytes.length).equals(bytes));
    } finally {
      if (slow) execFileSync('losetup', ['-d', slow]);
      beneath.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
