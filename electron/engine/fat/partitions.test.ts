// Finding the boot partition in disk images partitioned by sfdisk (MBR) and sgdisk (GPT), then
// editing the FAT filesystem in it at its offset, checked by mtools and fsck.vfat.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fatToolsSkipReason, fsck, makeFatImage, mdirNames, mtype, run, scratchDir, withVolume } from './fat-test-images';
import { crc32, findFatPartition, type FatPartition, type PartitionOptions } from './partitions';
import { fileDescriptorIO } from './sector-io';

const MiB = 1024 * 1024;

async function find(image: string, options: PartitionOptions = {}): Promise<FatPartition> {
  const fd = openSync(image, 'r');
  try {
    return await findFatPartition(fileDescriptorIO(fd), options);
  } finally {
    closeSync(fd);
  }
}

function blankDisk(image: string, bytes: number): void {
  writeFileSync(image, '');
  truncateSync(image, bytes);
}

function poke(image: string, at: number, bytes: Buffer): void {
  const fd = openSync(image, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

test('crc32 is the IEEE one GPT uses', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

describe('finding the FAT partition', { skip: fatToolsSkipReason() }, () => {
  let scratch: ReturnType<typeof scratchDir>;
  before(() => (scratch = scratchDir()));
  after(() => scratch.dispose());

  test('MBR: a 0x0c partition at 4 MiB is found, edited at its offset, and nothing outside it changes', async () => {
    const image = path.join(scratch.dir, 'mbr.img');
    blankDisk(image, 64 * MiB);
    run('sfdisk', ['-q', image], 'label: dos\nstart=8192, size=81920, type=c\nstart=90112, type=83\n');
    run('mkfs.vfat', ['-F', '32', '-s', '1', '--offset', '8192', image, '40960']);
    const root = randomBytes(1 * MiB);
    poke(image, 90112 * 512, root); // the "root filesystem" after it
    const before = readFileSync(image);

    const partition = await find(image, { diskSize: 64 * MiB });
    assert.deepEqual(partition, { start: 4 * MiB, size: 40 * MiB, scheme: 'mbr', number: 1, type: '0x0c' });
    await withVolume(image, async (volume) => {
      assert.equal(volume.type, 32);
      await volume.writeFile('ssh', Buffer.alloc(0));
      await volume.writeFile('userconf.txt', Buffer.from('pi:hash\n'));
    }, partition.start, { size: partition.size });
    // A filesystem claiming more than its partition could write into the next one.
    await assert.rejects(withVolume(image, async () => undefined, partition.start, { size: 20 * MiB }), /claims 41943040 bytes but its partition has 20971520/);

    assert.deepEqual(mdirNames(image, partition.start), ['ssh', 'userconf.txt']);
    assert.equal(mtype(image, 'userconf.txt', partition.start).toString(), 'pi:hash\n');
    const after = readFileSync(image);
    assert.ok(after.subarray(0, partition.start).equals(before.subarray(0, partition.start)), 'bytes before the partition changed');
    const end = partition.start + partition.size;
    assert.ok(after.subarray(end).equals(before.subarray(end)), 'bytes after the partition changed');
    const alone = path.join(scratch.dir, 'mbr-part1.img');
    writeFileSync(alone, after.subarray(partition.start, end));
    assert.deepEqual(fsck(alone).complaints, []);
    assert.equal(fsck(alone).status, 0);
  });

  test('MBR: the first FAT partition counts, not the first partition', async () => {
    const image = path.join(scratch.dir, 'mbr2.img');
    blankDisk(image, 32 * MiB);
    run('sfdisk', ['-q', image], 'label: dos\nstart=2048, size=8192, type=83\nstart=10240, size=20480, type=e\nstart=30720, type=b\n');
    assert.deepEqual(await find(image), { start: 10240 * 512, size: 20480 * 512, scheme: 'mbr', number: 2, type: '0x0e' });
  });

  test('GPT: a Microsoft basic data partition after a Linux one is found and edited', async () => {
    const image = path.join(scratch.dir, 'gpt.img');
    blankDisk(image, 64 * MiB);
    run('sgdisk', ['-n', '1:2048:+16M', '-t', '1:8300', '-n', '2:0:+40M', '-t', '2:0700', image]);
    const partition = await find(image, { diskSize: 64 * MiB });
    assert.deepEqual(partition, { start: 34816 * 512, size: 40 * MiB, scheme: 'gpt', number: 2, type: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7' });
    run('mkfs.vfat', ['-F', '16', '--offset', String(partition.start / 512), image, String(partition.size / 1024)]);
    await withVolume(image, (volume) => volume.writeFile('network-config', Buffer.from('version: 2\n')), partition.start);
    assert.deepEqual(mdirNames(image, partition.start), ['network-config']);
    assert.equal(mtype(image, 'network-config', partition.start).toString(), 'version: 2\n');
  });

  test('GPT: an EFI system partition is a FAT partition too', async () => {
    const image = path.join(scratch.dir, 'esp.img');
    blankDisk(image, 16 * MiB);
    run('sgdisk', ['-n', '1:2048:+8M', '-t', '1:ef00', image]);
    const partition = await find(image);
    assert.equal(partition.type, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
    assert.equal(partition.start, 1 * MiB);
  });

  test('disks without a FAT partition, or without a table, are refused with the reason', async () => {
    const zero = path.join(scratch.dir, 'zero.img');
    blankDisk(zero, 4 * MiB);
    await assert.rejects(find(zero), /no partition table: its first sector lacks the 0x55AA signature/);

    const whole = makeFatImage(scratch.dir, 'superfloppy.img', 16, 20480);
    await assert.rejects(find(whole), /no partition table: it starts with a FAT boot sector \(it is not partitioned\)/);

    const linux = path.join(scratch.dir, 'linux.img');
    blankDisk(linux, 16 * MiB);
    run('sfdisk', ['-q', linux], 'label: dos\nstart=2048, type=83\n');
    await assert.rejects(find(linux), /No FAT partition in the MBR \(partition types 1: 0x83;/);
    await assert.rejects(find(linux, { diskSize: 1 * MiB }), /No FAT partition/);

    const gptLinux = path.join(scratch.dir, 'gpt-linux.img');
    blankDisk(gptLinux, 16 * MiB);
    run('sgdisk', ['-n', '1:2048:0', '-t', '1:8300', gptLinux]);
    await assert.rejects(find(gptLinux), /No FAT partition in the GPT \(none of its 1 partitions/);

    const small = path.join(scratch.dir, 'small.img');
    blankDisk(small, 16 * MiB);
    run('sfdisk', ['-q', small], 'label: dos\nstart=2048, type=c\n');
    await assert.rejects(find(small, { diskSize: 8 * MiB }), /MBR partition 1 .* extends past the end of the disk \(8388608 bytes\)/);

    const corrupt = path.join(scratch.dir, 'corrupt.img');
    blankDisk(corrupt, 16 * MiB);
    run('sgdisk', ['-n', '1:2048:0', '-t', '1:0700', corrupt]);
    poke(corrupt, 512 + 60, Buffer.from([0x42])); // inside the disk GUID, covered by the header CRC
    await assert.rejects(find(corrupt), /primary GPT header is corrupt/);
  });
});
