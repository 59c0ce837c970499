// Which block device holds a path, from mountinfo alone (mount-sources.ts), on real loop devices:
// ext4 (its own device), btrfs (an anonymous one; the source tells), tmpfs (none), paths inside a
// mount that do not exist (nothing on the filesystem is looked at), and a mount on top of another.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { findExecutable } from '../sources/decoder-choice';
import { createLoopDevice, loopSkipReason, type LoopDevice } from '../../test-support/loop-device';
import { blockDeviceHolding, blockNameOf, devicesBeneath, parseMountLine, sourceDevices, zfsPoolDevices } from './mount-sources';

const majMinOf = (loop: LoopDevice) => readFileSync(`/sys/class/block/${path.basename(loop.path)}/dev`, 'utf8').trim();

describe('the block device under a mount, from mountinfo', { skip: loopSkipReason() }, () => {
  const dir = mkdtempSync('/tmp/blockwise-mount-sources-');
  const mounted: string[] = [];
  const loops: LoopDevice[] = [];
  after(() => {
    for (const point of mounted.reverse()) spawnSync('umount', ['-l', point]);
    for (const loop of loops) loop.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  function mountNew(fs: string, size: number, at: string): LoopDevice {
    const loop = createLoopDevice(size);
    loops.push(loop);
    execFileSync(`mkfs.${fs}`, fs === 'ext4' ? ['-q', '-F', loop.path] : ['-q', '-f', loop.path], { stdio: 'ignore' });
    mkdirSync(at, { recursive: true });
    execFileSync('mount', [loop.path, at]);
    mounted.push(at);
    return loop;
  }

  test('ext4: its own device, for the mount point and for paths under it that do not exist', () => {
    const at = path.join(dir, 'ext4 here');
    const loop = mountNew('ext4', 16 << 20, at);
    assert.equal(blockDeviceHolding(at), majMinOf(loop));
    assert.equal(blockDeviceHolding(path.join(at, 'no', 'such', 'file.img')), majMinOf(loop));
    assert.notEqual(blockDeviceHolding(`${at}-sibling/file`), majMinOf(loop), 'a sibling whose name starts the same is not inside');
  });

  test('btrfs: the block device its mount names, not its anonymous one', { skip: findExecutable('mkfs.btrfs') ? undefined : 'mkfs.btrfs is not installed' }, () => {
    const at = path.join(dir, 'btrfs');
    const loop = mountNew('btrfs', 128 << 20, at);
    assert.equal(blockDeviceHolding(path.join(at, 'os.img')), majMinOf(loop));
  });

  test('a mount on top of another: the one on top; tmpfs: no block device', () => {
    const at = path.join(dir, 'stacked');
    mountNew('ext4', 16 << 20, at);
    const top = mountNew('ext4', 16 << 20, at);
    assert.equal(blockDeviceHolding(path.join(at, 'x')), majMinOf(top));
    assert.equal(blockDeviceHolding('/dev/shm/anything'), undefined);
  });

  test('device paths: /dev/NAME names a block device, other paths are not looked at', () => {
    const loop = createLoopDevice(1 << 20);
    loops.push(loop);
    assert.equal(blockNameOf(loop.path), path.basename(loop.path));
    assert.equal(blockNameOf('/dev/shm/some-file'), undefined);
    assert.equal(blockNameOf('/dev/null'), undefined, 'a character device');
    assert.equal(blockNameOf('/home/user/disk.img'), undefined);
  });
});

// ZFS cannot be loaded here: udev's records of a machine with a ZFS root are written out as udev
// writes them (/run/udev/data/b<MAJ>:<MIN>), for a pool over two partitions and another pool.
describe('a ZFS mount, whose source is a dataset: its pool\'s devices from udev\'s records', () => {
  const udev = mkdtempSync('/tmp/blockwise-udev-');
  after(() => rmSync(udev, { recursive: true, force: true }));
  const record = (majMin: string, lines: string[]) => writeFileSync(path.join(udev, `b${majMin}`), `S:disk/by-id/x\n${lines.join('\n')}\nE:ID_BUS=ata\n`);
  record('8:3', ['E:ID_FS_TYPE=zfs_member', 'E:ID_FS_LABEL=rpool', 'E:ID_FS_VERSION=5000']);
  record('8:19', ['E:ID_FS_TYPE=zfs_member', 'E:ID_FS_LABEL=rpool']);
  record('8:2', ['E:ID_FS_TYPE=zfs_member', 'E:ID_FS_LABEL=bpool']);
  record('8:1', ['E:ID_FS_TYPE=vfat', 'E:ID_FS_LABEL=rpool']);
  record('8:33', ['E:ID_FS_TYPE=zfs_member', 'E:ID_FS_LABEL=rpool2']);
  writeFileSync(path.join(udev, 'c4:64'), 'E:ID_FS_TYPE=zfs_member\nE:ID_FS_LABEL=rpool\n'); // a character device's record

  test('the pool\'s members, and only them', () => {
    assert.deepEqual(zfsPoolDevices('rpool', udev).sort(), ['8:19', '8:3']);
    assert.deepEqual(zfsPoolDevices('bpool', udev), ['8:2']);
    assert.deepEqual(zfsPoolDevices('tank', udev), []);
    assert.deepEqual(zfsPoolDevices('rpool', path.join(udev, 'missing')), [], 'no udev records: none found, no error');
  });

  test('a mountinfo line of a ZFS root names its pool\'s devices', () => {
    const line = '29 1 0:25 / / rw,relatime shared:1 - zfs rpool/ROOT/ubuntu_abc123 rw,xattr,posixacl';
    const mount = parseMountLine(line)!;
    assert.equal(mount.fsType, 'zfs');
    assert.deepEqual(sourceDevices(mount, udev).sort(), ['8:19', '8:3']);
    const boot = parseMountLine('30 29 0:26 / /boot rw,relatime shared:2 - zfs bpool/BOOT/ubuntu_abc123 rw')!;
    assert.deepEqual(sourceDevices(boot, udev), ['8:2']);
    const ext4 = parseMountLine('31 29 8:1 / /boot/efi rw,relatime shared:3 - vfat /dev/sda1 rw')!;
    assert.deepEqual(sourceDevices(ext4, udev), [], 'a filesystem that reports its own device');
  });
});

// No device-mapper or md here: a sysfs laid out as the kernel lays it out for LUKS inside LVM on a
// RAID 1 of two partitions (dm-2 → dm-1 → md0 → sdb1 + sdc1), beside a plain partition.
describe('the devices beneath a stacked device, down to the disks (sysfs slaves/)', () => {
  const sys = mkdtempSync('/tmp/blockwise-sysfs-');
  const udev = mkdtempSync('/tmp/blockwise-udev-');
  after(() => {
    rmSync(sys, { recursive: true, force: true });
    rmSync(udev, { recursive: true, force: true });
  });
  /** A block device at its sysfs path, with its dev file, its class/block and dev/block links, and its slaves. */
  const device = (where: string, majMin: string, slaves: string[] = []) => {
    const dir = path.join(sys, 'devices', where);
    mkdirSync(path.join(dir, 'slaves'), { recursive: true });
    writeFileSync(path.join(dir, 'dev'), `${majMin}\n`);
    for (const slave of slaves) mkdirSync(path.join(dir, 'slaves', slave));
    mkdirSync(path.join(sys, 'class/block'), { recursive: true });
    mkdirSync(path.join(sys, 'dev/block'), { recursive: true });
    symlinkSync(path.relative(path.join(sys, 'class/block'), dir), path.join(sys, 'class/block', path.basename(where)));
    symlinkSync(path.relative(path.join(sys, 'dev/block'), dir), path.join(sys, 'dev/block', majMin));
  };
  device('pci0/host1/block/sda/sda3', '8:3');
  device('pci0/host2/block/sdb/sdb1', '8:17');
  device('pci0/host3/block/sdc/sdc1', '8:33');
  device('virtual/block/md0', '9:0', ['sdb1', 'sdc1']);
  device('virtual/block/dm-1', '253:1', ['md0']);
  device('virtual/block/dm-2', '253:2', ['dm-1']);
  device('pci0/host4/block/sdd/sdd1', '8:49');
  device('pci0/host5/block/sde/sde1', '8:65');
  writeFileSync(path.join(udev, 'b8:49'), 'E:ID_FS_TYPE=zfs_member\nE:ID_FS_LABEL=tank\n');
  writeFileSync(path.join(udev, 'b8:65'), 'E:ID_FS_TYPE=zfs_member\nE:ID_FS_LABEL=tank\n');

  test('LUKS in LVM on md: every layer, down to both partitions', () => {
    assert.deepEqual(devicesBeneath('253:2', { sys, udev }).sort(), ['253:1', '253:2', '8:17', '8:33', '9:0']);
  });

  test('a plain partition is itself alone; a ZFS member brings the rest of its pool', () => {
    assert.deepEqual(devicesBeneath('8:3', { sys, udev }), ['8:3']);
    assert.deepEqual(devicesBeneath('8:49', { sys, udev }).sort(), ['8:49', '8:65']);
    assert.deepEqual(devicesBeneath('8:99', { sys, udev }), ['8:99'], 'a device sysfs does not know: itself, no error');
  });
});
