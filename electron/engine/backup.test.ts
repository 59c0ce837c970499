// The backup engine's endings that leave nothing behind: a cancel mid-copy, and a folder whose
// filesystem fills up (a 4 MiB tmpfs) — each a specific error, with no file that looks saved.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import { createLoopDevice, loopSkipReason, type LoopDevice } from '../test-support/loop-device';
import { backupCompression, runBackup } from './backup';

const MiB = 1024 * 1024;
const skip = loopSkipReason();
if (skip) console.log(`# skipping backup engine tests: ${skip}`);

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

  async function failure(promise: Promise<unknown>): Promise<BlockwiseError> {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof BlockwiseError, String(error));
      return error;
    }
    assert.fail('the backup should have failed');
  }

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

  test('a folder whose filesystem fills up: said so with the folder, and nothing left there', async () => {
    const small = path.join(dir, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
    try {
      const error = await failure(runBackup({ device: drive.path, output: path.join(small, 'full.img'), verify: true }, { signal: new AbortController().signal }));
      assert.equal(error.code, 'WRITE_IO_ERROR');
      assert.match(error.message, new RegExp(`^Could not save the backup ${small}/full\\.img: the filesystem holding ${small} is full`));
      assert.deepEqual(readdirSync(small), []);
    } finally {
      execFileSync('umount', [small]);
    }
  });
});
