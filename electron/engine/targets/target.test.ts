// Opening targets that are not drives (image files to be created), and clearing a drive's first
// MiB before a flash with as few writes as it needs.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { alignedBuffer } from '../aligned-pool';
import { clearHead, HEAD_SIZE } from '../pipeline';
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

describe('clearing the first MiB before a flash (loop devices)', { skip: loopSkipReason() }, () => {
  // The writes go to the device: the backing file is written through it, and read back from it.
  const setBacking = (dev: LoopDevice, data: Buffer, at: number) => {
    const fd = openSync(dev.backingFile, 'r+');
    try {
      writeSync(fd, data, 0, data.length, at);
    } finally {
      closeSync(fd);
    }
  };

  test('only the blocks that are not zero are written, and the whole MiB then reads as zeros', async () => {
    const dev = createLoopDevice(8 * 1024 * 1024);
    try {
      // An old image's partition table and boot code (first 8 KiB), and a stray block at 600 KiB.
      setBacking(dev, randomBytes(8192), 0);
      setBacking(dev, randomBytes(100), 600 * 1024 + 7);
      setBacking(dev, randomBytes(4096), HEAD_SIZE); // just past the head: left alone
      const after = readBacking(dev, HEAD_SIZE, 4096);
      const target = await openTarget(dev.path);
      const before = dev.bytesWritten();
      try {
        await clearHead(target);
      } finally {
        await target.close();
      }
      assert.equal(dev.bytesWritten() - before, 8192 + 4096, 'two runs of blocks written: 8 KiB at 0, 4 KiB at 600 KiB');
      assert.ok(readBacking(dev, 0, HEAD_SIZE).equals(Buffer.alloc(HEAD_SIZE)), 'the first MiB reads as zeros');
      assert.ok(readBacking(dev, HEAD_SIZE, 4096).equals(after), 'nothing past the head touched');
    } finally {
      dev.dispose();
    }
  });

  test('a blank start costs no write; a target that cannot read back gets the whole MiB of zeros', async () => {
    const dev = createLoopDevice(4 * 1024 * 1024, { fill: 'garbage' });
    try {
      const target = await openTarget(dev.path);
      try {
        await target.write(alignedBuffer(HEAD_SIZE), 0);
        const before = dev.bytesWritten();
        await clearHead(target);
        assert.equal(dev.bytesWritten(), before, 'already zero: nothing written');
        setBacking(dev, randomBytes(HEAD_SIZE), 0);
        const blind = Object.assign(Object.create(Object.getPrototypeOf(target)), target, { read: undefined });
        await clearHead(blind);
        assert.equal(dev.bytesWritten() - before, HEAD_SIZE);
        assert.ok(readBacking(dev, 0, HEAD_SIZE).equals(Buffer.alloc(HEAD_SIZE)));
      } finally {
        await target.close();
      }
    } finally {
      dev.dispose();
    }
  });
});
