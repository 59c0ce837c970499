// The drives lifecycle on real loop devices, through the engine's runFlash: unmount before,
// refusal naming the holder, busy device, identity re-check, partition re-read after.

import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import type { FlashJob, TargetSpec } from '../../shared/flash-types';
import { runFlash } from '../engine/flash';
import { findExecutable } from '../engine/sources/decoder-choice';
import { createLoopDevice, fillGarbage, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { identityOf } from './identity';
import { diskMountpoints } from './linux-block';
import { listDrives } from './scanner';
import './register-lifecycle';

const skip = loopSkipReason();
const btrfs = findExecutable('mkfs.btrfs') !== undefined;
const MiB = 1 << 20;
let dir = '';

before(() => {
  process.env.BLOCKWISE_INCLUDE_LOOP = '1';
  dir = mkdtempSync('/dev/shm/blockwise-lifecycle-');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Pseudo-random bytes: uniform ones would be taken for a text file and refused as no image. */
function patternImage(name: string, size: number, seed: number): string {
  const file = path.join(dir, name);
  fillGarbage(file, size, seed);
  return file;
}

function flash(image: string, target: TargetSpec): Promise<unknown> {
  const job: FlashJob = { source: { kind: 'file', path: image }, targets: [target], options: { verify: true, full: true } };
  return runFlash(job, { signal: new AbortController().signal, onProgress: () => {} });
}

/** Flashes a 4 MiB pattern image onto `loop`; the image's path. */
async function flashPattern(loop: LoopDevice, name: string, seed: number): Promise<string> {
  const image = patternImage(name, 4 * MiB, seed);
  await flash(image, { path: loop.path });
  return image;
}

function assertHolds(loop: LoopDevice, image: string): void {
  assert.ok(readBacking(loop, 0, 4 * MiB).equals(readFileSync(image)), 'the drive does not hold the image');
}

const isMounted = (mountDir: string) => readFileSync('/proc/self/mounts', 'utf8').includes(` ${mountDir} `);

async function refusal(promise: Promise<unknown>): Promise<BlockwiseError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, `expected a BlockwiseError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the flash to be refused');
}

/** A loop device with one ext4 partition mounted on a fresh directory. */
function mountedPartition(): { loop: LoopDevice; mountDir: string; cleanup: () => void } {
  const loop = createLoopDevice(32 * MiB, { partscan: true });
  execFileSync('sfdisk', ['-q', loop.path], { input: 'label: dos\nstart=2048, type=83\n' });
  execFileSync('partx', ['-u', loop.path]);
  execFileSync('mkfs.ext4', ['-q', '-F', `${loop.path}p1`], { stdio: 'ignore' });
  const mountDir = mkdtempSync('/tmp/blockwise-mnt-');
  execFileSync('mount', [`${loop.path}p1`, mountDir]);
  return {
    loop,
    mountDir,
    cleanup: () => {
      if (diskMountpoints(path.basename(loop.path)).length > 0) execFileSync('umount', ['-l', mountDir]);
      loop.dispose();
      rmSync(mountDir, { recursive: true, force: true });
    },
  };
}

test('a mounted partition is unmounted, then the drive is written', { skip }, async () => {
  const { loop, mountDir, cleanup } = mountedPartition();
  try {
    assert.deepEqual(diskMountpoints(path.basename(loop.path)), [mountDir]);
    const image = await flashPattern(loop, 'a.img', 0xa5);
    assert.deepEqual(diskMountpoints(path.basename(loop.path)), [], 'the partition is still mounted');
    assertHolds(loop, image);
  } finally {
    cleanup();
  }
});

test('a partition held by a process is refused with UNMOUNT_FAILED naming the process', { skip }, async () => {
  const { loop, mountDir, cleanup } = mountedPartition();
  let sleeper: ChildProcess | undefined;
  try {
    sleeper = spawn('sleep', ['600'], { cwd: mountDir, stdio: 'ignore' });
    const before = readBacking(loop, 0, 4096);
    const error = await refusal(flash(patternImage('b.img', MiB, 0x5a), { path: loop.path }));
    assert.equal(error.code, 'UNMOUNT_FAILED');
    assert.match(error.message, new RegExp(`sleep \\(pid ${sleeper.pid}, working directory ${mountDir}\\)`));
    assert.match(error.message, /Nothing was written/);
    assert.ok(readBacking(loop, 0, 4096).equals(before), 'bytes changed although the flash was refused');
    assert.deepEqual(diskMountpoints(path.basename(loop.path)), [mountDir]);
  } finally {
    sleeper?.kill();
    await new Promise((r) => setTimeout(r, 100));
    cleanup();
  }
});

test('a partition holding the backing file of a loop device is refused with UNMOUNT_FAILED naming the loop device', { skip }, async () => {
  const { loop, mountDir, cleanup } = mountedPartition();
  let inner: string | undefined;
  try {
    const backing = path.join(mountDir, 'inner.img');
    writeFileSync(backing, Buffer.alloc(MiB));
    inner = execFileSync('losetup', ['-f', '--show', backing]).toString().trim();
    const before = readBacking(loop, 0, 4096);
    const error = await refusal(flash(patternImage('l.img', MiB, 0x3c), { path: loop.path }));
    assert.equal(error.code, 'UNMOUNT_FAILED');
    assert.ok(error.message.includes(`loop device ${inner} (backing file ${backing}`), error.message);
    assert.ok(error.message.includes(`losetup -d ${inner}`), error.message);
    assert.match(error.message, /Nothing was written/);
    assert.ok(readBacking(loop, 0, 4096).equals(before), 'bytes changed although the flash was refused');
  } finally {
    if (inner) execFileSync('losetup', ['-d', inner]);
    cleanup();
  }
});

test('a filesystem mounted from a loop device attached to one of the drive\'s partitions is unmounted before the drive is written', { skip }, async () => {
  const loop = createLoopDevice(32 * MiB, { partscan: true });
  const mountDir = mkdtempSync('/tmp/blockwise-mnt-');
  let inner: string | undefined;
  try {
    execFileSync('sfdisk', ['-q', loop.path], { input: 'label: dos\nstart=2048, type=83\n' });
    execFileSync('partx', ['-u', loop.path]);
    inner = execFileSync('losetup', ['-f', '--show', `${loop.path}p1`]).toString().trim();
    execFileSync('mkfs.ext4', ['-q', '-F', inner], { stdio: 'ignore' });
    execFileSync('mount', [inner, mountDir]);
    assert.deepEqual(diskMountpoints(path.basename(loop.path)), [mountDir], 'the mount on the stacked loop device counts as the drive\'s');
    const image = await flashPattern(loop, 's.img', 0x77);
    assert.ok(!isMounted(mountDir), 'the filesystem on the stacked loop device is still mounted');
    assertHolds(loop, image);
  } finally {
    if (isMounted(mountDir)) execFileSync('umount', ['-l', mountDir]);
    if (inner) execFileSync('losetup', ['-d', inner]);
    loop.dispose();
    rmSync(mountDir, { recursive: true, force: true });
  }
});

// btrfs reports an anonymous device (major 0) in mountinfo: its mount is found from the mount's source.
test('a mounted btrfs partition counts as mounted: it is unmounted, then the drive is written', { skip: skip ?? (btrfs ? undefined : 'mkfs.btrfs is not installed') }, async () => {
  const loop = createLoopDevice(160 * MiB, { partscan: true });
  const mountDir = mkdtempSync('/tmp/blockwise-mnt-');
  try {
    execFileSync('sfdisk', ['-q', loop.path], { input: 'label: dos\nstart=2048, type=83\n' });
    execFileSync('partx', ['-u', loop.path]);
    execFileSync('mkfs.btrfs', ['-q', '-f', `${loop.path}p1`], { stdio: 'ignore' });
    execFileSync('mount', [`${loop.path}p1`, mountDir]);
    assert.deepEqual(diskMountpoints(path.basename(loop.path)), [mountDir]);
    const image = await flashPattern(loop, 'btrfs.img', 0x42);
    assert.deepEqual(diskMountpoints(path.basename(loop.path)), [], 'the btrfs partition is still mounted');
    assertHolds(loop, image);
  } finally {
    if (isMounted(mountDir)) execFileSync('umount', ['-l', mountDir]);
    loop.dispose();
    rmSync(mountDir, { recursive: true, force: true });
  }
});

// A btrfs may span several drives; mountinfo names only one of them (the source).
test('a btrfs spanning two drives, mounted by the first, counts as mounted on the second: it is unmounted, then the second is written', { skip: skip ?? (btrfs ? undefined : 'mkfs.btrfs is not installed') }, async () => {
  const first = createLoopDevice(128 * MiB);
  const second = createLoopDevice(128 * MiB);
  const mountDir = mkdtempSync('/tmp/blockwise-mnt-');
  try {
    execFileSync('mkfs.btrfs', ['-q', '-f', '-d', 'single', '-m', 'single', first.path, second.path], { stdio: 'ignore' });
    execFileSync('mount', [first.path, mountDir]);
    assert.deepEqual(diskMountpoints(path.basename(second.path)), [mountDir], 'the second drive is not seen as mounted');
    const image = await flashPattern(second, 'btrfs-two.img', 0x43);
    assert.equal(isMounted(mountDir), false, 'the btrfs is still mounted');
    assertHolds(second, image);
  } finally {
    if (isMounted(mountDir)) execFileSync('umount', ['-l', mountDir]);
    first.dispose();
    second.dispose();
    rmSync(mountDir, { recursive: true, force: true });
  }
});

test('a device another process opened exclusively is refused with TARGET_BUSY', { skip }, async () => {
  const loop = createLoopDevice(8 * MiB);
  // python3's os.open passes O_EXCL straight to open(2): the kernel's claim on the block device.
  const holder = spawn('/usr/bin/python3', ['-c', `import os,sys,time\nos.open(${JSON.stringify(loop.path)}, os.O_RDONLY | os.O_EXCL)\nprint('held', flush=True)\ntime.sleep(600)`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
    const error = await refusal(flash(patternImage('c.img', MiB, 1), { path: loop.path }));
    assert.equal(error.code, 'TARGET_BUSY');
    assert.ok(readBacking(loop, 0, MiB).equals(Buffer.alloc(MiB)), 'a busy device was written');
  } finally {
    holder.kill();
    await new Promise((r) => holder.once('exit', r));
    loop.dispose();
  }
});

/**
 * A loop number far above the ones `losetup -f` hands out, so that no test running in parallel
 * grabs it in the moment between our detach and re-attach.
 */
function quietLoopPath(): string {
  for (let n = 150 + Math.floor(Math.random() * 100); n < 400; n++) {
    if (!existsSync(`/sys/block/loop${n}/loop/backing_file`)) return `/dev/loop${n}`;
  }
  throw new Error('no free high loop number');
}

test('a loop device detached and re-attached with another size or content is refused as TARGET_CHANGED', { skip }, async () => {
  const devicePath = quietLoopPath();
  const original = path.join(dir, 'original.img');
  writeFileSync(original, Buffer.alloc(16 * MiB));
  execFileSync('losetup', [devicePath, original]);
  let attached = true;
  try {
    const chosen = (await listDrives({ includeLoop: true })).find((d) => d.path === devicePath);
    assert.ok(chosen, `${devicePath} not listed`);
    const identity = identityOf(chosen);
    execFileSync('losetup', ['-d', devicePath]);
    attached = false;
    const swaps: { file: string; size: number }[] = [
      { file: path.join(dir, 'bigger.img'), size: 24 * MiB },
      { file: path.join(dir, 'same-size-other-file.img'), size: 16 * MiB },
    ];
    for (const swap of swaps) {
      writeFileSync(swap.file, Buffer.alloc(swap.size, 0x11));
      execFileSync('losetup', [devicePath, swap.file]);
      attached = true;
      const error = await refusal(flash(patternImage('d.img', MiB, 0xee), { path: devicePath, identity }));
      assert.equal(error.code, 'TARGET_CHANGED', error.message);
      assert.match(error.message, new RegExp(devicePath));
      assert.ok(readFileSync(swap.file).subarray(0, MiB).equals(Buffer.alloc(MiB, 0x11)), 'the impostor was written');
      execFileSync('losetup', ['-d', devicePath]);
      attached = false;
    }
  } finally {
    if (attached) execFileSync('losetup', ['-d', devicePath]);
  }
});

test('the identity of an unchanged drive passes and the flash goes ahead', { skip }, async () => {
  const loop = createLoopDevice(8 * MiB);
  try {
    const chosen = (await listDrives({ includeLoop: true })).find((d) => d.path === loop.path);
    assert.ok(chosen);
    const image = patternImage('e.img', MiB, 0x42);
    await flash(image, { path: loop.path, identity: identityOf(chosen) });
    assert.ok(readBacking(loop, 0, MiB).equals(readFileSync(image)));
  } finally {
    loop.dispose();
  }
});

test('after flashing an image with a partition table its partitions appear (/dev/loopNp1)', { skip }, async () => {
  const loop = createLoopDevice(16 * MiB, { partscan: true });
  try {
    const image = path.join(dir, 'parted.img');
    writeFileSync(image, Buffer.alloc(8 * MiB));
    execFileSync('sfdisk', ['-q', image], { input: 'label: dos\nstart=2048, size=4096, type=c\nstart=8192, type=83\n' });
    assert.equal(existsSync(`${loop.path}p1`), false);
    await flash(image, { path: loop.path });
    assert.equal(existsSync(`${loop.path}p1`), true, `${loop.path}p1 did not appear`);
    assert.equal(existsSync(`${loop.path}p2`), true, `${loop.path}p2 did not appear`);
  } finally {
    loop.dispose();
  }
});
