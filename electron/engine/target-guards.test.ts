// The checks made on a target before anything is written, on real loop devices.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import type { TargetSpec } from '../../shared/flash-types';
import { createLoopDevice, loopSkipReason, type LoopDevice } from '../test-support/loop-device';
import { runFlash } from './flash';
import { findExecutable } from './sources/decoder-choice';
import './sources/register';

/** Flashes the image (a file, or a drive being cloned) to `targets`, every byte, verified. */
function flashTo(image: string, targets: TargetSpec[]): Promise<unknown> {
  return runFlash({ source: { kind: 'file', path: image }, targets, options: { verify: true, full: true } }, { signal: new AbortController().signal, onProgress: () => {} });
}

/** `flash` is refused with `code`, its message matching `said` (or equal to it, given as a string). */
async function refusedWith(flash: Promise<unknown>, code: string, said: RegExp | string): Promise<void> {
  await assert.rejects(flash, (error: unknown) => {
    assert.ok(error instanceof BlockwiseError, String(error));
    assert.equal(error.code, code, error.message);
    if (typeof said === 'string') assert.equal(error.message, said);
    else assert.match(error.message, said);
    return true;
  });
}

/** Flashing `image` onto `dev` is refused as SOURCE_ON_TARGET, and nothing is written. */
async function refusedAsStoredOn(image: string, dev: LoopDevice): Promise<void> {
  const before = dev.bytesWritten();
  await refusedWith(flashTo(image, [{ path: dev.path }]), 'SOURCE_ON_TARGET', new RegExp(`is stored on ${dev.path}`));
  assert.equal(dev.bytesWritten(), before, 'nothing written');
}

describe('target guards', { skip: loopSkipReason() }, () => {
  const dir = mkdtempSync('/dev/shm/blockwise-guards-test-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a partition of the target drive as the source is SOURCE_ON_TARGET; nothing is written', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const dev = createLoopDevice(16 << 20, { fill: 'garbage' });
    try {
      execFileSync('sfdisk', ['-q', dev.path], { input: '2048,,83\n' });
      execFileSync('partx', ['-u', dev.path]);
      const partition = `${dev.path}p1`;
      for (let i = 0; i < 50 && !existsSync(partition); i++) await new Promise((r) => setTimeout(r, 20));
      await refusedAsStoredOn(partition, dev);
    } finally {
      dev.dispose();
    }
  });

  /** An image on a btrfs made over `devices` (mounted by the first), given to `body`; everything undone after. */
  async function onBtrfs(devices: LoopDevice[], body: (image: string) => Promise<void>): Promise<void> {
    const mountDir = mkdtempSync('/tmp/blockwise-btrfs-');
    let mounted = false;
    try {
      const profiles = devices.length > 1 ? ['-d', 'single', '-m', 'single'] : [];
      execFileSync('mkfs.btrfs', ['-q', '-f', ...profiles, ...devices.map((d) => d.path)], { stdio: 'ignore' });
      execFileSync('mount', [devices[0]!.path, mountDir]);
      mounted = true;
      const image = path.join(mountDir, 'os.img');
      writeFileSync(image, randomBytes(1 << 20));
      await body(image);
    } finally {
      if (mounted) execFileSync('umount', [mountDir]);
      rmSync(mountDir, { recursive: true, force: true });
      for (const d of devices) d.dispose();
    }
  }
  const btrfsSkip = findExecutable('mkfs.btrfs') ? undefined : 'mkfs.btrfs is not installed';

  // btrfs reports an anonymous device (major 0) for its files: the drive is found from the mount's source.
  test('an image stored on a btrfs filesystem on the target drive is SOURCE_ON_TARGET; nothing is written', { skip: btrfsSkip }, async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const dev = createLoopDevice(128 << 20);
    await onBtrfs([dev], (image) => refusedAsStoredOn(image, dev));
  });

  test('an image on a btrfs spanning two drives, mounted by the other one, is SOURCE_ON_TARGET on either; nothing is written', { skip: btrfsSkip }, async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const first = createLoopDevice(128 << 20);
    const second = createLoopDevice(128 << 20);
    await onBtrfs([first, second], async (image) => {
      await refusedAsStoredOn(image, second);
      await refusedAsStoredOn(image, first);
    });
  });

  // The image is on a filesystem in a file (a loop device) that is itself on the target drive.
  test('an image inside a disk-image file stored on the target drive is SOURCE_ON_TARGET; nothing is written', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const dev = createLoopDevice(64 << 20);
    const outer = mkdtempSync('/tmp/blockwise-outer-');
    const inner = mkdtempSync('/tmp/blockwise-inner-');
    let outerMounted = false;
    let innerMounted = false;
    let innerLoop = '';
    try {
      execFileSync('mkfs.ext4', ['-q', '-F', dev.path], { stdio: 'ignore' });
      execFileSync('mount', [dev.path, outer]);
      outerMounted = true;
      const container = path.join(outer, 'container.img');
      execFileSync('truncate', ['-s', '24M', container]);
      innerLoop = execFileSync('losetup', ['-f', '--show', container], { encoding: 'utf8' }).trim();
      execFileSync('mkfs.ext4', ['-q', '-F', innerLoop], { stdio: 'ignore' });
      execFileSync('mount', [innerLoop, inner]);
      innerMounted = true;
      const image = path.join(inner, 'os.img');
      writeFileSync(image, randomBytes(1 << 20));
      await refusedAsStoredOn(image, dev);
    } finally {
      // Inside out: the inner filesystem, the loop device on the file, then the drive's filesystem.
      if (innerMounted) execFileSync('umount', [inner]);
      if (innerLoop) execFileSync('losetup', ['-d', innerLoop]);
      if (outerMounted) execFileSync('umount', ['-l', outer]);
      rmSync(outer, { recursive: true, force: true });
      rmSync(inner, { recursive: true, force: true });
      dev.dispose();
    }
  });

  /** Flashing `image` to `target` is refused as SOURCE_ON_TARGET saying `said`; the image is left as it was. */
  async function refusedAsTheImage(image: string, target: string, said: RegExp): Promise<void> {
    const before = readFileSync(image);
    await refusedWith(flashTo(image, [{ path: target, createFile: true }]), 'SOURCE_ON_TARGET', said);
    assert.ok(readFileSync(image).equals(before), 'the image is as it was');
  }

  // Opening a file target empties it: through a hard link that emptied the image itself, and the
  // flash then failed as "the image shrank while being read".
  test('a hard link to the image as the target file is SOURCE_ON_TARGET; the image is left whole', async () => {
    const image = path.join(dir, 'linked.img');
    writeFileSync(image, randomBytes(1 << 20));
    const link = path.join(dir, 'copy.img');
    linkSync(image, link);
    await refusedAsTheImage(image, link, /copy\.img is the image file itself, under another name/);
  });

  // A loop device over the image (attached to look inside it): the flash zeroed the image's start
  // through it, read that back as the image, and reported success with the image destroyed.
  test('a loop device over the image itself (by its path or a hard link) is SOURCE_ON_TARGET; neither image nor drive is written', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const dev = createLoopDevice(8 << 20, { fill: 'garbage' });
    try {
      const before = dev.bytesWritten();
      await refusedAsTheImage(dev.backingFile, dev.path, /is a loop device over the image .* itself/);
      const link = path.join(path.dirname(dev.backingFile), 'same.img');
      linkSync(dev.backingFile, link);
      await refusedAsTheImage(link, dev.path, /is a loop device over the image same\.img itself/);
      assert.equal(dev.bytesWritten(), before, 'nothing written');
    } finally {
      dev.dispose();
    }
  });

  // An image file attached as a loop device, its filesystem perhaps mounted: it was emptied and
  // rewritten under that filesystem without a word, and the flash reported success.
  test('an image file that is the backing file of a loop device (by its path or a hard link) is TARGET_BUSY naming it; the file is left as it was', async () => {
    const image = path.join(dir, 'for-busy.img');
    writeFileSync(image, randomBytes(1 << 20));
    const dev = createLoopDevice(8 << 20, { fill: 'garbage' });
    try {
      const link = path.join(path.dirname(dev.backingFile), 'other-name.img');
      linkSync(dev.backingFile, link);
      const before = readFileSync(dev.backingFile);
      for (const target of [dev.backingFile, link]) {
        await refusedWith(
          flashTo(image, [{ path: target, createFile: true }]),
          'TARGET_BUSY',
          new RegExp(`backing file of the loop device ${dev.path}: detach it first \\(losetup -d ${dev.path}\\)`),
        );
      }
      assert.ok(readFileSync(dev.backingFile).equals(before), 'the file is as it was');
    } finally {
      dev.dispose();
    }
  });

  // The kernel records a deleted backing file by its old path (" (deleted)"): a new file made at
  // that path since is another file, neither the loop device's nor the image.
  test('a file at the path of a loop device\'s deleted backing file is written as any file; the loop device is not taken for the image either', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const dev = createLoopDevice(8 << 20, { fill: 'garbage' });
    try {
      rmSync(dev.backingFile);
      const bytes = randomBytes(1 << 20);
      writeFileSync(dev.backingFile, bytes); // now a new file at the old path
      const image = path.join(dir, 'for-deleted.img');
      writeFileSync(image, randomBytes(1 << 20));
      await flashTo(image, [{ path: dev.backingFile, createFile: true }]);
      assert.ok(readFileSync(dev.backingFile).equals(readFileSync(image)));
      await flashTo(dev.backingFile, [{ path: dev.path, createFile: true }]);
    } finally {
      dev.dispose();
    }
  });

  // Cloning a loop device to another over the same file read and wrote the same bytes at once
  // (the target's start zeroed first: what the image's start read as depended on timing).
  test('a drive given as the image and a target that are loop devices over the same file: SOURCE_ON_TARGET; nothing is written', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const dev = createLoopDevice(8 << 20, { fill: 'garbage' });
    let second = '';
    try {
      second = execFileSync('losetup', ['-f', '--show', dev.backingFile], { encoding: 'utf8' }).trim();
      const before = readFileSync(dev.backingFile);
      await refusedWith(
        flashTo(dev.path, [{ path: second }]),
        'SOURCE_ON_TARGET',
        new RegExp(`${second} and the image .* are loop devices over the same file, ${dev.backingFile}`),
      );
      assert.ok(readFileSync(dev.backingFile).equals(before), 'nothing written');
    } finally {
      if (second) execFileSync('losetup', ['-d', second]);
      dev.dispose();
    }
  });

  test('an image file to be written on a filesystem of another drive of the same flash is refused; nothing is written to either', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const drive = createLoopDevice(48 << 20, { fill: 'garbage' });
    const mountDir = mkdtempSync('/tmp/blockwise-job-drive-');
    let mounted = false;
    try {
      execFileSync('mkfs.ext4', ['-q', '-F', drive.path], { stdio: 'ignore' });
      execFileSync('mount', [drive.path, mountDir]);
      mounted = true;
      const image = path.join(dir, 'both.img');
      writeFileSync(image, randomBytes(1 << 20));
      const copy = path.join(mountDir, 'copy.img');
      const before = drive.bytesWritten();
      await refusedWith(
        flashTo(image, [{ path: drive.path }, { path: copy, createFile: true }]),
        'TARGET_NOT_ALLOWED',
        `${copy} is on ${drive.path}, which this flash erases: the file would be lost with the drive's old contents. Write the image file to another drive, or flash ${drive.path} on its own.`,
      );
      assert.equal(drive.bytesWritten(), before, 'nothing written to the drive');
      assert.equal(existsSync(copy), false, 'no file made');
    } finally {
      if (mounted) execFileSync('umount', [mountDir]);
      rmSync(mountDir, { recursive: true, force: true });
      drive.dispose();
    }
  });

  test('a drive detached after it was chosen is TARGET_NOT_FOUND (gone), not "a different drive"', async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    const image = path.join(dir, 'small.img');
    writeFileSync(image, randomBytes(1 << 20));
    const dev = createLoopDevice(8 << 20);
    const chosen = { path: dev.path, identity: { size: dev.size } };
    dev.dispose(); // the node stays in /dev and reads as 0 bytes, like an emptied card reader
    try {
      await flashTo(image, [chosen]);
      assert.fail('the flash reported success on a detached device');
    } catch (error) {
      assert.ok(error instanceof BlockwiseError, String(error));
      // A busy machine may re-attach the number at once; then it really is a different drive.
      const reattached = Number(readFileSync(`/sys/block/${path.basename(dev.path)}/size`, 'utf8')) > 0;
      if (!reattached) {
        assert.equal(error.code, 'TARGET_NOT_FOUND', error.message);
        assert.match(error.message, new RegExp(`${dev.path} has no medium \\(0 bytes\\)`));
      }
    }
  });
});
