// Opening targets that are not drives (image files to be created), and clearing a drive's
// held-back head before a flash with as few writes as it needs.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { alignedBuffer } from '../aligned-pool';
import { runCompare } from '../compare';
import { runFlash } from '../flash';
import { findExecutable } from '../sources/decoder-choice';
import { clearHead, HEAD_SIZE, HELD_BACK } from '../pipeline';
import '../sources/register';
import { openTarget } from './target';

test('an image file in a missing folder names the folder, not an unplugged drive', async () => {
  const target = '/nonexistent-blockwise-dir/out.img';
  await assert.rejects(openTarget(target, { allowCreateFile: true }), (error: unknown) => {
    assert.ok(error instanceof BlockwiseError);
    assert.equal(error.code, 'TARGET_NOT_FOUND');
    assert.match(error.message, /the folder \/nonexistent-blockwise-dir does not exist/);
    assert.doesNotMatch(error.message, /unplugged/);
    return true;
  });
});

describe('clearing the held-back head before a flash (loop devices)', { skip: loopSkipReason() }, () => {
  // The writes go to the device: the backing file is written through it, and read back from it.
  const setBacking = (dev: LoopDevice, data: Buffer, at: number) => {
    const fd = openSync(dev.backingFile, 'r+');
    try {
      writeSync(fd, data, 0, data.length, at);
    } finally {
      closeSync(fd);
    }
  };

  test('only its blocks that are not zero are written; the old blocks past it that are not zero are reported', async () => {
    const dev = createLoopDevice(8 * 1024 * 1024);
    try {
      // An old image's partition table and boot code (first 8 KiB), a superblock at 64 KiB, a
      // stray block straddling the held-back end, one at 600 KiB, and one just past the head.
      setBacking(dev, randomBytes(8192), 0);
      setBacking(dev, randomBytes(100), 64 * 1024 + 0x40);
      setBacking(dev, randomBytes(8192), HELD_BACK - 4096);
      setBacking(dev, randomBytes(100), 600 * 1024 + 7);
      setBacking(dev, randomBytes(4096), HEAD_SIZE);
      const rest = readBacking(dev, HELD_BACK, HEAD_SIZE + 4096 - HELD_BACK);
      const target = await openTarget(dev.path);
      const before = dev.bytesWritten();
      let stale;
      try {
        stale = (await clearHead(target)).stale;
      } finally {
        await target.close();
      }
      assert.equal(dev.bytesWritten() - before, 8192 + 4096 + 4096, 'three runs of blocks written: 8 KiB at 0, 4 KiB at 64 KiB, the last 4 KiB before HELD_BACK');
      assert.ok(readBacking(dev, 0, HELD_BACK).equals(Buffer.alloc(HELD_BACK)), 'the held-back head reads as zeros');
      assert.ok(readBacking(dev, HELD_BACK, rest.length).equals(rest), 'nothing past it touched');
      assert.deepEqual(stale, [
        { start: HELD_BACK, end: HELD_BACK + 4096 },
        { start: 600 * 1024, end: 604 * 1024 },
      ]);
    } finally {
      dev.dispose();
    }
  });

  test('a blank start costs no write; a target that cannot read back gets its held-back head zeroed and the rest reported', async () => {
    const dev = createLoopDevice(4 * 1024 * 1024, { fill: 'garbage' });
    try {
      const target = await openTarget(dev.path);
      try {
        await target.write(alignedBuffer(HEAD_SIZE), 0);
        const before = dev.bytesWritten();
        assert.deepEqual(await clearHead(target), { blankTo: HELD_BACK, stale: [] });
        assert.equal(dev.bytesWritten(), before, 'already zero: nothing written');
        setBacking(dev, randomBytes(HEAD_SIZE), 0);
        const blind = Object.assign(Object.create(Object.getPrototypeOf(target)), target, { read: undefined });
        assert.deepEqual(await clearHead(blind), { blankTo: HELD_BACK, stale: [{ start: HELD_BACK, end: HEAD_SIZE }] });
        assert.equal(dev.bytesWritten() - before, HELD_BACK);
        assert.ok(readBacking(dev, 0, HELD_BACK).equals(Buffer.alloc(HELD_BACK)));
      } finally {
        await target.close();
      }
    } finally {
      dev.dispose();
    }
  });
});

// O_DIRECT on a file takes the alignment of the drive beneath its filesystem: on a 4Kn drive,
// whole 4096-byte blocks. The image's last partial block was written as 512-byte sectors, and
// every image file there not ending on 4096 bytes failed with EINVAL at its last block.
describe('an image file on the filesystem of a 4Kn drive', { skip: loopSkipReason() ?? (findExecutable('mkfs.ext4') ? undefined : 'mkfs.ext4 is not installed') }, () => {
  for (const size of [5 * 1024 * 1024 + 1536, 3 * 1024 * 1024 + 777, 70001]) {
    test(`an image of ${size} bytes (ending mid-block) is written, verified, and compares equal`, async () => {
      const dev = createLoopDevice(64 * 1024 * 1024, { sectorSize: 4096 });
      const mountDir = mkdtempSync('/tmp/blockwise-4kn-fs-');
      let mounted = false;
      try {
        execFileSync('mkfs.ext4', ['-q', '-F', dev.path], { stdio: 'ignore' });
        execFileSync('mount', [dev.path, mountDir]);
        mounted = true;
        const bytes = randomBytes(size);
        const image = path.join(mountDir, 'os.img');
        writeFileSync(image, bytes);
        const copy = path.join(mountDir, 'copy.img');
        const result = await runFlash(
          { source: { kind: 'file', path: image }, targets: [{ path: copy, createFile: true }], options: { verify: true, full: true } },
          { signal: new AbortController().signal, onProgress: () => {} },
        );
        assert.ok(result.targets[0]!.verified);
        assert.ok(readFileSync(copy).equals(bytes), 'the file is the image, byte for byte');
        const compared = await runCompare({ source: { kind: 'file', path: image }, target: { path: copy } }, { signal: new AbortController().signal, onProgress: () => {} });
        assert.equal(compared.bytesCompared, size);
      } finally {
        if (mounted) execFileSync('umount', [mountDir]);
        rmSync(mountDir, { recursive: true, force: true });
        dev.dispose();
      }
    });
  }
});
