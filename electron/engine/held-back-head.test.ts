// A flash stopped before its end must leave a drive that nothing recognises: no partition table,
// no filesystem, old or new, for libblkid (what udev, desktop automounters and installers use)
// to find. Real images made with the real tools (MBR + FAT32 + ext4 like a Raspberry Pi image,
// GPT, ext4 on the whole drive, ISO 9660) are flashed over a drive holding an old layout, and
// stopped where a flash stops last: a published checksum that does not match, found once
// everything but the held-back head is on the drive. Then the same flash with no checksum ends,
// and `blkid -p` must find the new layout: the probe can see what it is asked to see.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import type { FlashJob } from '../../shared/flash-types';
import { assertShowsNothing, probeDrive as probe } from '../test-support/drive-probe';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { runFlash } from './flash';
import { HEAD_SIZE, HELD_BACK } from './pipeline';
import './sources/register';

const MiB = 1024 * 1024;
const WRONG = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

const TOOLS = ['blkid', 'sfdisk', 'sgdisk', 'mkfs.vfat', 'mkfs.ext4'];
const skip = loopSkipReason() ?? (TOOLS.every(has) ? undefined : `needs ${TOOLS.filter((t) => !has(t)).join(', ')} (scripts/setup.sh installs them)`);
if (skip) console.log(`# skipping held-back head tests: ${skip}`);
const isoTool = ['xorriso', 'genisoimage'].find(has);

const sh = (command: string, cwd: string) => execFileSync('bash', ['-ec', command], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

describe('a flash stopped before its end leaves nothing to recognise (loop devices)', { skip }, () => {
  let dir = '';
  const devices: LoopDevice[] = [];
  const flash = (j: FlashJob) => runFlash(j, { signal: new AbortController().signal, onProgress: () => {} });

  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-head-test-');
    // A Raspberry Pi-like image: MBR, FAT32 boot partition at 4 MiB, ext4 root after it.
    sh(
      `truncate -s 48M pi.img
       printf 'label: dos\\nstart=8192, size=40960, type=c\\nstart=49152, type=83\\n' | sfdisk -q pi.img
       truncate -s 20M boot.fs && mkfs.vfat -F 32 -n BOOT boot.fs >/dev/null
       truncate -s 24M root.fs && mkfs.ext4 -q -F -L rootfs root.fs
       dd if=boot.fs of=pi.img bs=1M seek=4 conv=notrunc status=none
       dd if=root.fs of=pi.img bs=1M seek=24 conv=notrunc status=none
       rm boot.fs root.fs`,
      dir,
    );
    // GPT with one ext4 partition at 1 MiB.
    sh(
      `truncate -s 40M gpt.img && sgdisk -n 1:2048:+30M -t 1:8300 gpt.img >/dev/null 2>&1
       truncate -s 30M part.fs && mkfs.ext4 -q -F part.fs && dd if=part.fs of=gpt.img bs=1M seek=1 conv=notrunc status=none && rm part.fs`,
      dir,
    );
    // ext4 made on the whole drive: its superblock at 1 KiB, no partition table.
    sh(`truncate -s 32M whole.img && mkfs.ext4 -q -F -L whole whole.img`, dir);
    // btrfs on the whole drive: its superblock at 64 KiB.
    if (has('mkfs.btrfs')) sh('truncate -s 40M btrfs.img && mkfs.btrfs -q -f -M -L whole btrfs.img >/dev/null 2>&1', dir);
    if (isoTool) {
      mkdirSync(path.join(dir, 'tree'));
      writeFileSync(path.join(dir, 'tree', 'README.txt'), 'a live image\n'.repeat(100_000));
      sh(isoTool === 'xorriso' ? 'xorriso -as mkisofs -quiet -V LIVE -o live.iso tree 2>/dev/null' : 'genisoimage -quiet -V LIVE -o live.iso tree', dir);
    }
  });
  after(() => {
    for (const d of devices.splice(0)) d.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A drive that holds `old` (an earlier image, as a drive being reused does) over garbage. */
  const driveHolding = (old: string): LoopDevice => {
    const d = createLoopDevice(64 * MiB, { fill: 'garbage' });
    devices.push(d);
    if (old === 'garbage') return d;
    execFileSync('dd', [`if=${path.join(dir, old)}`, `of=${d.backingFile}`, 'bs=1M', 'conv=notrunc', 'status=none']);
    return d;
  };

  test('an image shorter than the first MiB: the rest of that MiB reads as zeros, past it the drive is untouched', async () => {
    const file = path.join(dir, 'tiny.img');
    const bytes = randomBytes(300 * 1024 + 512);
    writeFileSync(file, bytes);
    const dev = driveHolding('garbage');
    const past = readBacking(dev, HEAD_SIZE, MiB);
    const done = await flash({ source: { kind: 'file', path: file }, targets: [{ path: dev.path }], options: { verify: true, full: false } });
    assert.ok(done.targets[0]!.ok && done.targets[0]!.verified);
    const head = readBacking(dev, 0, HEAD_SIZE);
    assert.ok(head.subarray(0, bytes.length).equals(bytes), 'the image');
    assert.ok(head.subarray(Math.ceil(bytes.length / 4096) * 4096).equals(Buffer.alloc(HEAD_SIZE - Math.ceil(bytes.length / 4096) * 4096)), 'then zeros');
    assert.ok(readBacking(dev, HEAD_SIZE, MiB).equals(past), 'past the first MiB: untouched');
  });

  test('the head costs the drive only its blocks that are not zero: old ones zeroed first, the image\'s own written last', async () => {
    const file = path.join(dir, 'pi.img');
    const bytes = readFileSync(file);
    const dev = driveHolding('gpt.img');
    const blocks = (data: Buffer) => {
      let n = 0;
      for (let at = 0; at < HELD_BACK; at += 4096) if (!data.subarray(at, at + 4096).equals(Buffer.alloc(4096))) n++;
      return n * 4096;
    };
    const oldHead = blocks(readBacking(dev, 0, HELD_BACK));
    const newHead = blocks(bytes.subarray(0, HELD_BACK));
    assert.ok(oldHead > 0 && newHead > 0 && newHead < HELD_BACK / 4, `both heads mostly blank, neither empty (old ${oldHead}, new ${newHead} bytes)`);
    const before = dev.bytesWritten();
    const done = await flash({ source: { kind: 'file', path: file }, targets: [{ path: dev.path }], options: { verify: true, full: true } });
    assert.ok(done.targets[0]!.ok && done.targets[0]!.verified);
    assert.equal(dev.bytesWritten() - before, oldHead + (bytes.length - HELD_BACK) + newHead, 'every byte past the held-back head once, and in it only blocks that are not zero');
    assert.ok(readBacking(dev, 0, bytes.length).equals(bytes), 'the drive holds the image, zeros included');
  });

  const cases: Array<{ image: string; old: string; finds: RegExp; missing?: string }> = [
    { image: 'pi.img', old: 'gpt.img', finds: /PTTYPE=dos/ },
    { image: 'gpt.img', old: 'pi.img', finds: /PTTYPE=gpt/ },
    { image: 'whole.img', old: 'pi.img', finds: /TYPE=ext4/ },
    // Old bytes all over the head, which a sparse write of ext4's free blocks would not cover.
    { image: 'whole.img', old: 'garbage', finds: /TYPE=ext4/ },
    { image: 'live.iso', old: 'whole.img', finds: /TYPE=iso9660/, missing: isoTool ? undefined : 'xorriso or genisoimage' },
    { image: 'btrfs.img', old: 'live.iso', finds: /TYPE=btrfs/, missing: has('mkfs.btrfs') && isoTool ? undefined : 'mkfs.btrfs and xorriso' },
  ];
  for (const { image, old, finds, missing } of cases) {
    for (const full of [false, true]) {
      test(`${image} over a drive holding ${old} (${full ? 'every byte' : 'sparse'}): stopped, nothing is found; finished, ${finds.source}`, async (t) => {
        if (missing) return t.skip(`needs ${missing} (scripts/setup.sh installs them)`);
        const file = path.join(dir, image);
        const bytes = readFileSync(file);
        const dev = driveHolding(old);
        if (old !== 'garbage') assert.notEqual(probe(dev.path), '', `the drive's old layout (${old}) is visible before the flash`);

        const job: FlashJob = { source: { kind: 'file', path: file }, targets: [{ path: dev.path }], options: { verify: true, full, checksum: { algorithm: 'sha256', hex: WRONG, of: 'image' } } };
        const error = await flash(job).then(
          () => assert.fail('a flash with a wrong checksum reported success'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof BlockwiseError && error.code === 'CHECKSUM_MISMATCH', String(error));
        assertShowsNothing(dev.path, 'stopped by the checksum');
        // The rest of the image did reach the drive: the stop was at the very end.
        const tail = Math.min(bytes.length, 8 * MiB);
        if (full) assert.ok(readBacking(dev, HELD_BACK, tail - HELD_BACK).equals(bytes.subarray(HELD_BACK, tail)), 'the body is on the drive');

        delete job.options.checksum;
        const done = await flash(job);
        assert.ok(done.targets[0]!.ok && done.targets[0]!.verified);
        assert.match(probe(dev.path), finds);
        // The first MiB matches the image exactly, whatever the old drive held there.
        assert.ok(readBacking(dev, 0, HEAD_SIZE).equals(bytes.subarray(0, HEAD_SIZE)), 'the first MiB is the image\'s');
      });
    }
  }
});
