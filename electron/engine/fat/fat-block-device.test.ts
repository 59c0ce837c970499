// The same edits through a real block device (a loop device over a RAM-backed file), as the
// feature will do on a card: partition table found on the device, files written at the FAT
// partition's offset through a plain file descriptor, then checked by mtools and fsck.vfat.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLoopDevice, loopSkipReason } from '../../test-support/loop-device';
import { fatToolsSkipReason, fsck, mdirNames, mtype, run, scratchDir } from './fat-test-images';
import { FatVolume } from './fat-volume';
import { findFatPartition } from './partitions';
import { fileDescriptorIO } from './sector-io';

const MiB = 1024 * 1024;

describe('editing a FAT partition on a block device', { skip: loopSkipReason() ?? fatToolsSkipReason() }, () => {
  let scratch: ReturnType<typeof scratchDir>;
  before(() => (scratch = scratchDir()));
  after(() => scratch.dispose());

  test('a Raspberry Pi OS-like card: boot partition at 4 MiB gets ssh, userconf.txt and firstrun.sh', async () => {
    const dev = createLoopDevice(64 * MiB);
    try {
      run('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', dev.path], 'label: dos\nstart=8192, size=81920, type=c\nstart=90112, type=83\n');
      run('mkfs.vfat', ['-I', '-F', '32', '-s', '1', '--offset', '8192', dev.path, '40960']);
      const firstrun = randomBytes(12_345);
      const fd = openSync(dev.path, 'r+');
      let start: number;
      try {
        const io = fileDescriptorIO(fd);
        const partition = await findFatPartition(io, { diskSize: dev.size });
        start = partition.start;
        assert.equal(start, 4 * MiB);
        const volume = await FatVolume.open(io, start, { size: partition.size });
        await volume.writeFile('ssh', Buffer.alloc(0));
        await volume.writeFile('userconf.txt', Buffer.from('pi:$6$salt$hash\n'));
        await volume.writeFile('firstrun.sh', firstrun);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      assert.deepEqual(mdirNames(dev.path, start), ['ssh', 'userconf.txt', 'firstrun.sh']);
      assert.deepEqual(mtype(dev.path, 'firstrun.sh', start), firstrun);

      const partition = Buffer.alloc(40 * MiB);
      const read = openSync(dev.path, 'r');
      try {
        for (let done = 0; done < partition.length; ) done += readSync(read, partition, done, partition.length - done, start + done);
      } finally {
        closeSync(read);
      }
      const alone = path.join(scratch.dir, 'boot.img');
      writeFileSync(alone, partition);
      assert.deepEqual(fsck(alone).complaints, []);
    } finally {
      dev.dispose();
    }
  });

  test('a drive with 4 KiB logical sectors: LBAs count in 4 KiB, as the caller says', async () => {
    const dev = createLoopDevice(64 * MiB, { sectorSize: 4096 });
    try {
      // sfdisk reads the device's sector size: start=1024 is 4 MiB here.
      run('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', dev.path], 'label: dos\nstart=1024, size=10240, type=e\n');
      run('mkfs.vfat', ['-I', '-S', '4096', '-F', '16', '-s', '1', '--offset', '1024', dev.path, '40960']);
      const fd = openSync(dev.path, 'r+');
      try {
        const io = fileDescriptorIO(fd);
        const partition = await findFatPartition(io, { sectorSize: 4096, diskSize: dev.size });
        assert.deepEqual([partition.start, partition.size], [4 * MiB, 40 * MiB]);
        const volume = await FatVolume.open(io, partition.start, { size: partition.size });
        assert.equal(volume.layout.bytesPerSector, 4096);
        await volume.writeFile('user-data', Buffer.from('#cloud-config\n'));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      assert.equal(mtype(dev.path, 'user-data', 4 * MiB).toString(), '#cloud-config\n');
    } finally {
      dev.dispose();
    }
  });
});
