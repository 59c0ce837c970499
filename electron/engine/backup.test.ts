// The backup engine's endings that leave nothing behind: a cancel mid-copy, and a folder whose
// filesystem fills up (a 4 MiB tmpfs) — each a specific error, with no file that looks saved.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createFaultyDrive, fuseSkipReason } from '../test-support/fuse-faults';
import { createLoopDevice, loopSkipReason, type LoopDevice } from '../test-support/loop-device';
import { backupCompression, runBackup } from './backup';
import { blockwiseFailure } from '../test-support/blockwise-failure';

const MiB = 1024 * 1024;
const skip = loopSkipReason();
if (skip) console.log(`# skipping backup engine tests: ${skip}`);
const fuseSkip = skip ?? fuseSkipReason();

const failure = (promise: Promise<unknown>) => blockwiseFailure(promise, 'the backup should have failed');

test('the name decides the compression; anything else is refused with the names that work', () => {
  assert.equal(backupCompression('/b/card.img'), 'none');
  assert.equal(backupCompression('/b/card.ISO'), 'none');
  assert.equal(backupCompression('/b/card.img.gz'), 'gzip');
  assert.equal(backupCompression('/b/card.img.zst'), 'zstd');
  assert.equal(backupCompression('/b/card.img.xz'), 'xz');
  assert.deepEqual(backupCompression('/b/card.img.bz2'), { refused: 'card.img.bz2: Blockwise saves backups as NAME.img (as it is), NAME.img.gz, NAME.img.zst or NAME.img.xz (compressed), not as .bz2.' });
});

describe('backup engine on loop devices', { skip }, () => {
  let dir = '';
  let drive: LoopDevice;
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync(path.join(tmpdir(), 'blockwise-backup-'));
    drive = createLoopDevice(48 * MiB, { fill: 'garbage' });
  });
  after(() => {
    drive.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a cancel mid-copy: CANCELLED, the drive only read, nothing left in the folder', async () => {
    const controller = new AbortController();
    const out = path.join(dir, 'cancelled.img.zst');
    const error = await failure(
      runBackup({ device: drive.path, output: out, verify: true }, { signal: controller.signal, onProgress: (p) => p.position > 0 && controller.abort() }),
    );
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.message, `The backup of ${drive.path} was cancelled: nothing was saved (the unfinished file was removed). The drive was only read.`);
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(drive.bytesWritten(), 0);
  });

  test('a cancel while xz is still compressing what was read: CANCELLED within seconds, xz stopped, nothing left', async () => {
    // Random bytes: xz takes many seconds over 24 MiB of them (1–2 MB/s of a core), long after the
    // drive was read; the cancel used to wait for it to finish.
    const random = createLoopDevice(24 * MiB);
    try {
      writeFileSync(random.backingFile, randomBytes(24 * MiB));
      const controller = new AbortController();
      let abortedAt = 0;
      const out = path.join(dir, 'slow.img.xz');
      // Cancelled once the kernel has served every sector of the drive (its own count, sysfs stat).
      const stat = `/sys/block/${path.basename(random.path)}/stat`;
      const sectorsRead = () => Number(readFileSync(stat, 'utf8').trim().split(/\s+/)[2]);
      const before = sectorsRead();
      const watch = setInterval(() => {
        if (abortedAt === 0 && sectorsRead() - before >= (24 * MiB) / 512) {
          abortedAt = performance.now();
          controller.abort();
        }
      }, 20);
      let error;
      try {
        error = await failure(runBackup({ device: random.path, output: out, verify: true }, { signal: controller.signal }));
      } finally {
        clearInterval(watch);
      }
      const waited = performance.now() - abortedAt;
      assert.equal(error.code, 'CANCELLED', error.message);
      assert.ok(abortedAt > 0, 'the whole drive was read before the cancel');
      assert.ok(waited < 3000, `the cancel took ${Math.round(waited)} ms`);
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('slow')), []);
      // Killed, it is gone within moments (reaped), not when it would have finished.
      const xzLeft = () => spawnSync('pgrep', ['-P', String(process.pid), '-x', 'xz'], { encoding: 'utf8' }).stdout.trim();
      for (let i = 0; i < 50 && xzLeft() !== ''; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(xzLeft(), '', 'no xz left running');
    } finally {
      random.dispose();
    }
  });

  test('run through sudo, the backup and its .sha256 belong to who ran it, not to root', { skip: process.getuid?.() === 0 ? undefined : 'needs root' }, async () => {
    const saved = { uid: process.env.SUDO_UID, gid: process.env.SUDO_GID };
    process.env.SUDO_UID = '4321';
    process.env.SUDO_GID = '4322';
    try {
      const out = path.join(dir, 'mine.img.gz');
      await runBackup({ device: drive.path, output: out, verify: false }, { signal: new AbortController().signal });
      for (const file of [out, `${out}.sha256`]) {
        const owner = statSync(file);
        assert.deepEqual([owner.uid, owner.gid], [4321, 4322], file);
      }
    } finally {
      for (const [key, value] of [['SUDO_UID', saved.uid], ['SUDO_GID', saved.gid]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(path.join(dir, 'mine.img.gz'), { force: true });
      rmSync(path.join(dir, 'mine.img.gz.sha256'), { force: true });
    }
  });

  test('a backup into /dev (devices: a file there lives in memory) or /proc is refused before anything is read', async () => {
    for (const [out, why] of [
      ['/dev/blockwise-backup-test.img', '/dev holds devices, not files: a backup saved there would live in memory and be gone at the next start'],
      ['/proc/blockwise-backup-test.img.gz', "/proc is the kernel's view of the system, not a folder for files"],
    ] as const) {
      const error = await failure(runBackup({ device: drive.path, output: out, verify: false }, { signal: new AbortController().signal }));
      assert.equal(error.code, 'TARGET_NOT_ALLOWED');
      assert.equal(error.message, `Cannot save ${out}: ${why}. Save the backup on a disk, such as your Downloads folder or a USB drive.`);
      assert.equal(existsSync(out), false);
      assert.equal(existsSync(`${out}.partial`), false);
    }
  });

  test('a backup saved on the drive it copies is refused before anything is read', async () => {
    const own = createLoopDevice(40 * MiB);
    const mountpoint = path.join(dir, 'own');
    mkdirSync(mountpoint);
    execFileSync('mkfs.ext4', ['-q', '-F', own.path], { stdio: 'ignore' });
    execFileSync('mount', [own.path, mountpoint]);
    try {
      const error = await failure(runBackup({ device: own.path, output: path.join(mountpoint, 'self.img'), verify: true }, { signal: new AbortController().signal }));
      assert.equal(error.code, 'SOURCE_ON_TARGET');
      assert.equal(error.message, `${mountpoint} is on ${own.path} itself: a backup cannot be saved on the drive it copies. Save it on another drive.`);
      assert.deepEqual(readdirSync(mountpoint).filter((f) => f.startsWith('self')), []);
    } finally {
      execFileSync('umount', [mountpoint]);
      own.dispose();
    }
  });

  for (const name of ['full.img', 'full.img.xz']) {
    // xz holds its output until its input ends: the disk fills only once the drive was read.
    test(`a folder whose filesystem fills up (${name}): said so with the folder, and nothing left there`, async () => {
      const small = path.join(dir, 'small');
      mkdirSync(small);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
      // Random bytes: no compressor makes them fit.
      const random = createLoopDevice(16 * MiB);
      try {
        writeFileSync(random.backingFile, randomBytes(16 * MiB));
        const error = await failure(runBackup({ device: random.path, output: path.join(small, name), verify: true }, { signal: new AbortController().signal }));
        assert.equal(error.code, 'WRITE_IO_ERROR');
        assert.match(error.message, new RegExp(`^Could not save the backup ${small}/${name.replace(/\./g, '\\.')}: the filesystem holding ${small} is full`));
        assert.deepEqual(readdirSync(small), []);
      } finally {
        random.dispose();
        execFileSync('umount', [small]);
        rmSync(small, { recursive: true, force: true });
      }
    });
  }
});

describe('backup engine on faulty drives', { skip: fuseSkip }, () => {
  let dir = '';
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync(path.join(tmpdir(), 'blockwise-backup-faulty-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an unreadable block is named by its own byte, not by the start of the 4 MiB read holding it', async () => {
    const bad = 20 * MiB + 8192;
    const drive = await createFaultyDrive({ size: 32 * MiB, eioRead: [[bad, bad + 4096]] });
    try {
      const error = await failure(runBackup({ device: drive.path, output: path.join(dir, 'eio.img'), verify: true }, { signal: new AbortController().signal }));
      assert.equal(error.code, 'READ_IO_ERROR');
      assert.match(error.message, new RegExp(`^Reading ${drive.path} failed at byte ${bad}: `));
      assert.equal(error.details.offset, bad);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      drive.dispose();
    }
  });

  test('a cancel while the drive does not answer a read ends within seconds, naming the drive, and leaves nothing', async () => {
    const release = path.join(dir, 'release');
    const drive = await createFaultyDrive({ size: 32 * MiB, stallRead: [[20 * MiB, 20 * MiB + 4096]], stallUntil: release });
    // Released after 15 s at the latest, so that a backup that waits for the drive fails instead of hanging.
    const releaser = setTimeout(() => writeFileSync(release, ''), 15_000);
    try {
      const controller = new AbortController();
      const started = performance.now();
      const out = path.join(dir, 'stalled.img.zst');
      const pending = runBackup({ device: drive.path, output: out, verify: true }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 1000);
      const error = await failure(pending);
      const seconds = (performance.now() - started) / 1000;
      assert.ok(seconds < 6, `ended ${seconds.toFixed(1)} s after it started`);
      assert.equal(error.code, 'CANCELLED');
      assert.equal(error.message, `The backup of ${drive.path} was cancelled: nothing was saved (the unfinished file was removed). ${drive.path} is not responding: unplug it. The drive was only read.`);
      assert.equal(error.details.unresponsive, true);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      clearTimeout(releaser);
      writeFileSync(release, '');
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the abandoned read ends, its descriptor closes
      drive.dispose(); // writes the release file again
      rmSync(release, { force: true });
    }
  });

  test('a drive that is gone: said to have disappeared (was it unplugged?), not to be failing', async () => {
    const drive = await createFaultyDrive({ size: 32 * MiB, yankAfter: 0 });
    try {
      const error = await failure(runBackup({ device: drive.path, output: path.join(dir, 'gone.img'), verify: true }, { signal: new AbortController().signal }));
      assert.equal(error.code, 'TARGET_NOT_FOUND');
      assert.equal(error.message, `${drive.path} disappeared at byte 0 of its ${32 * MiB} (was it unplugged?). Nothing was saved.`);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      drive.dispose();
    }
  });

  test('a partition is refused, naming its drive: its image would not restore the drive', async () => {
    const drive = createLoopDevice(8 * MiB, { partscan: true });
    try {
      execFileSync('sfdisk', ['-q', drive.path], { input: 'label: dos\nstart=2048, type=83\n' });
      execFileSync('partx', ['-u', drive.path], { stdio: 'ignore' });
      const partition = `${drive.path}p1`;
      for (let i = 0; i < 50 && !existsSync(partition); i++) execFileSync('sleep', ['0.1']);
      const error = await failure(runBackup({ device: partition, output: path.join(dir, 'part.img'), verify: true }, { signal: new AbortController().signal }));
      assert.equal(error.code, 'TARGET_NOT_ALLOWED');
      assert.equal(
        error.message,
        `${partition} is a partition of ${drive.path}: a backup copies a whole drive, with its partition table, so that flashing it back restores the drive. Back up ${drive.path} instead.`,
      );
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      drive.dispose();
    }
  });

  test('--to an existing folder: said to be a folder, with a file name to give instead', async () => {
    const drive = createLoopDevice(4 * MiB);
    const folder = path.join(dir, 'saved.img');
    mkdirSync(folder);
    try {
      const error = await failure(runBackup({ device: drive.path, output: folder, verify: true }, { signal: new AbortController().signal }));
      assert.equal(error.code, 'TARGET_NOT_ALLOWED');
      assert.equal(error.message, `${folder} is a folder: give the backup a file name, in it (${folder}/backup.img) or beside it.`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
      drive.dispose();
    }
  });
});
