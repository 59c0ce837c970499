// shared/drive-rules.ts against real-shaped lsblk output from several machines, run through the
// same drivelist parser and DriveInfo conversion the scanner uses.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'drivelist/js/lsblk/json';
import type { DriveInfo } from '../../shared/drive-types';
import { assessDrive, assessDrives, driveHoldingFile, LARGE_DRIVE_BYTES, refuseTarget, type AssessOptions } from '../../shared/drive-rules';
import { formatBytes } from '../../shared/format-bytes';
import { driveInfoFromDrivelist, isIgnoredDevice } from './drive-info';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'electron', 'drives', 'fixtures');

function machine(name: string): DriveInfo[] {
  const raw = parse(readFileSync(path.join(FIXTURES, `${name}.lsblk.json`), 'utf8'));
  return raw.filter((d) => !isIgnoredDevice(d.device)).map((d) => driveInfoFromDrivelist(d));
}

function drive(drives: DriveInfo[], devicePath: string): DriveInfo {
  const found = drives.find((d) => d.path === devicePath);
  assert.ok(found, `${devicePath} missing`);
  return found;
}

const codes = (drives: DriveInfo[], p: string, options: AssessOptions) => assessDrive(drive(drives, p), options).reasons.map((r) => r.code);
const hidden: AssessOptions = { showAllDrives: false };

describe('laptop with NVMe and an SD card in the built-in reader', () => {
  const drives = machine('laptop-nvme-sd-reader');

  test('classification', () => {
    const nvme = drive(drives, '/dev/nvme0n1');
    assert.equal(nvme.bus, 'nvme');
    assert.equal(nvme.system, true);
    assert.equal(nvme.serial, undefined, 'lsblk fixtures carry no /sys facts');
    const sd = drive(drives, '/dev/mmcblk0');
    assert.deepEqual([sd.bus, sd.isCard, sd.removable, sd.system, sd.isUSB], ['sd', true, true, false, false]);
    assert.deepEqual(sd.mountpoints, ['/media/alice/bootfs', '/media/alice/rootfs']);
  });

  test('the NVMe system disk is hidden, then selectable only after confirming', () => {
    const off = assessDrive(drive(drives, '/dev/nvme0n1'), hidden);
    assert.deepEqual([off.visible, off.selectable, off.needsConfirm], [false, false, false]);
    assert.equal(off.reasons[0]?.code, 'SYSTEM_DRIVE');
    assert.match(off.reasons[0]?.text ?? '', /system drive \(mounted at \/boot\/efi, \/boot\)/);
    const on = assessDrive(drive(drives, '/dev/nvme0n1'), { showAllDrives: true });
    assert.deepEqual([on.visible, on.selectable, on.needsConfirm], [true, true, true]);
    assert.equal(refuseTarget(on)?.code, 'SYSTEM_DRIVE');
    assert.equal(refuseTarget(on, true), undefined);
    // Even "show all drives" and a confirm never get past a hard error.
    assert.equal(refuseTarget(assessDrive(drive(drives, '/dev/nvme0n1'), { showAllDrives: true, imageSize: 600e9 }), true)?.code, 'IMAGE_TOO_LARGE');
  });

  test('the SD card is a plain target; its mounts are only a note', () => {
    const a = assessDrive(drive(drives, '/dev/mmcblk0'), { ...hidden, imageSize: 2_700_000_000 });
    assert.deepEqual([a.visible, a.selectable, a.needsConfirm], [true, true, false]);
    assert.deepEqual(a.reasons.map((r) => [r.code, r.severity]), [['MOUNTED', 'info']]);
    assert.equal(refuseTarget(a), undefined);
  });

  test('an image larger than the card is refused with sizes a person can read', () => {
    const a = assessDrive(drive(drives, '/dev/mmcblk0'), { ...hidden, imageSize: 64_000_000_000 });
    assert.equal(a.selectable, false);
    assert.match(a.reasons[0]?.text ?? '', /too small: the image needs 64\.0 GB, the drive holds 3\d\.\d GB/);
    const card = drive(drives, '/dev/mmcblk0');
    const close = assessDrive(card, { ...hidden, imageSize: card.size + 4096 });
    assert.match(close.reasons[0]?.text ?? '', /too small: the image needs \d+\.\d GB \([\d,]+ bytes\), the drive holds \d+\.\d GB \([\d,]+ bytes\)\./);
    assert.equal(refuseTarget(a)?.code, 'IMAGE_TOO_LARGE');
  });

  test('an image stored on the card itself is refused', () => {
    const image = '/media/alice/rootfs/home/pi/backup.img';
    assert.equal(driveHoldingFile(drives, image)?.path, '/dev/mmcblk0');
    const all = assessDrives(drives, { ...hidden, imagePath: image });
    const sd = all.get(drive(drives, '/dev/mmcblk0').id);
    assert.equal(sd?.selectable, false);
    assert.equal(refuseTarget(sd!)?.code, 'SOURCE_ON_TARGET');
  });
});

describe('desktop with SATA disks and a USB stick', () => {
  const drives = machine('desktop-sata-usb-stick');

  test('the optical drive is not listed; both SATA disks are system, the stick is not', () => {
    assert.deepEqual(drives.map((d) => d.path), ['/dev/sda', '/dev/sdb', '/dev/sdc']);
    assert.deepEqual(drives.map((d) => d.system), [true, true, false]);
    assert.deepEqual(drives.map((d) => d.bus), ['sata', 'sata', 'usb']);
    assert.equal(drive(drives, '/dev/sdc').isUSB, true);
    assert.equal(drive(drives, '/dev/sdc').isCard, false);
  });

  test('an image in /home lives on the system disk, so the stick is free', () => {
    const all = assessDrives(drives, { ...hidden, imagePath: '/home/bob/Downloads/debian.iso', imageSize: 650_000_000 });
    assert.equal(driveHoldingFile(drives, '/home/bob/Downloads/debian.iso')?.path, '/dev/sda');
    assert.equal(all.get(drive(drives, '/dev/sdc').id)?.selectable, true);
    assert.ok(all.get(drive(drives, '/dev/sda').id)?.reasons.some((r) => r.code === 'SOURCE_DRIVE'));
  });

  test('the longest mount point wins: an image on the stick marks the stick, not the root disk', () => {
    const image = '/media/bob/Ubuntu 22.04.3 LTS amd64/casper/filesystem.squashfs';
    assert.equal(driveHoldingFile(drives, image)?.path, '/dev/sdc');
    assert.deepEqual(codes(drives, '/dev/sdc', { ...hidden, imagePath: image }), ['SOURCE_DRIVE', 'MOUNTED']);
  });

  test('a path that only shares a prefix with a mount point is not on it', () => {
    assert.equal(driveHoldingFile(drives, '/mnt/database/x.img')?.path, '/dev/sda');
    assert.equal(driveHoldingFile(drives, '/mnt/data/x.img')?.path, '/dev/sdb');
  });

  test('the 1 TB system disk also carries the large-drive warning when shown', () => {
    assert.deepEqual(codes(drives, '/dev/sda', { showAllDrives: true }), ['SYSTEM_DRIVE', 'LARGE_DRIVE']);
  });
});

describe('machine with a USB hard disk', () => {
  const drives = machine('usb-hard-disk');

  test('the USB hard disk (rm=0, hotplug=1) is removable, not system, and large', () => {
    const hdd = drive(drives, '/dev/sda');
    assert.deepEqual([hdd.removable, hdd.system, hdd.isUSB, hdd.bus], [true, false, true, 'usb']);
    const a = assessDrive(hdd, { ...hidden, imageSize: 4e9 });
    assert.deepEqual([a.visible, a.selectable, a.needsConfirm], [true, true, false]);
    assert.equal(a.reasons[0]?.code, 'LARGE_DRIVE');
    assert.equal(a.reasons[0]?.severity, 'warning');
    assert.match(a.reasons[0]?.text ?? '', /2\.0 TB, unusually big for install media/);
  });

  test('with the image stored on the USB hard disk, only the stick may be written', () => {
    const all = assessDrives(drives, { ...hidden, imagePath: '/media/carol/Elements/images/raspios.img.xz', imageSize: 5.4e9 });
    const selectable = drives.filter((d) => all.get(d.id)?.selectable).map((d) => d.path);
    assert.deepEqual(selectable, ['/dev/sdb']);
    assert.equal(refuseTarget(all.get(drive(drives, '/dev/sda').id)!)?.code, 'SOURCE_ON_TARGET');
    assert.equal(all.get(drive(drives, '/dev/nvme0n1').id)?.visible, false);
  });

  test('the host can name the source device directly', () => {
    assert.deepEqual(codes(drives, '/dev/sdb', { ...hidden, sourceDevice: '/dev/sdb' }), ['SOURCE_DRIVE', 'MOUNTED']);
  });
});

describe('write-protected SD card in a USB multi-card reader', () => {
  const drives = machine('read-only-sd-card');

  test('the locked card is a read-only USB card reader drive', () => {
    const card = drive(drives, '/dev/sdb');
    assert.deepEqual([card.readOnly, card.isCard, card.isUSB, card.removable, card.system], [true, true, true, true, false]);
  });

  test('it is shown but not selectable, and the reason says how to unlock it', () => {
    const a = assessDrive(drive(drives, '/dev/sdb'), { ...hidden, imageSize: 1e9 });
    assert.deepEqual([a.visible, a.selectable], [true, false]);
    assert.equal(a.reasons[0]?.code, 'READ_ONLY');
    assert.match(a.reasons[0]?.text ?? '', /lock switch/);
    assert.equal(refuseTarget(a)?.code, 'TARGET_READ_ONLY');
  });

  test('an empty reader slot reports no medium', () => {
    const slot = drive(drives, '/dev/sdc');
    assert.equal(slot.size, 0);
    const a = assessDrive(slot, hidden);
    assert.equal(a.selectable, false);
    assert.equal(a.reasons[0]?.code, 'NO_MEDIUM');
    assert.equal(refuseTarget(a)?.code, 'TARGET_NOT_FOUND');
  });
});

describe('this machine (virtio VM, real lsblk output)', () => {
  const drives = machine('vm-virtio-this-machine');

  test('zram is ignored and the virtio root disk is a hidden system drive', () => {
    assert.deepEqual(drives.map((d) => d.path), ['/dev/vda']);
    const vda = drive(drives, '/dev/vda');
    assert.deepEqual([vda.bus, vda.virtual, vda.system], ['virtual', true, true]);
    assert.equal(assessDrive(vda, hidden).visible, false);
    assert.deepEqual(codes(drives, '/dev/vda', { showAllDrives: true }), ['SYSTEM_DRIVE', 'LARGE_DRIVE', 'VIRTUAL_DRIVE']);
  });
});

describe('rules on hand-made drives', () => {
  const base: DriveInfo = {
    id: 'x', path: '/dev/sdx', size: 16e9, model: 'Stick', bus: 'usb', removable: true, readOnly: false, system: false,
    virtual: false, isCard: false, isUSB: true, mountpoints: [], logicalBlockSize: 512,
  };

  test('large-drive threshold: a marketed 128 GB stick passes, 129 GiB warns', () => {
    assert.deepEqual(assessDrive({ ...base, size: 128_043_712_512 }, hidden).reasons, []);
    assert.deepEqual(assessDrive({ ...base, size: LARGE_DRIVE_BYTES + 512 }, hidden).reasons.map((r) => r.code), ['LARGE_DRIVE']);
    assert.deepEqual(assessDrive({ ...base, size: LARGE_DRIVE_BYTES }, hidden).reasons, []);
  });

  test('an image exactly the drive size fits; one byte more does not', () => {
    assert.equal(assessDrive(base, { ...hidden, imageSize: 16e9 }).selectable, true);
    assert.equal(assessDrive(base, { ...hidden, imageSize: 16e9 + 1 }).selectable, false);
  });

  test('loop devices are notes, fixed non-system disks warn', () => {
    assert.deepEqual(assessDrive({ ...base, path: '/dev/loop3', bus: 'loop', virtual: true, removable: true }, hidden).reasons.map((r) => r.code), ['LOOP_DEVICE']);
    assert.deepEqual(assessDrive({ ...base, removable: false }, hidden).reasons.map((r) => r.code), ['NOT_REMOVABLE']);
  });

  test('several errors are all reported, errors first', () => {
    const a = assessDrive({ ...base, readOnly: true, size: 1e9, mountpoints: ['/media/x'] }, { ...hidden, imageSize: 2e9, imagePath: '/media/x/a.img' });
    assert.deepEqual(a.reasons.map((r) => r.code), ['SOURCE_DRIVE', 'TOO_SMALL', 'READ_ONLY', 'MOUNTED']);
  });

  test('Windows paths and drive letters match case-insensitively', () => {
    const win = [
      { ...base, id: 'c', path: '\\\\.\\PhysicalDrive0', system: true, mountpoints: ['C:\\'] },
      { ...base, id: 'e', path: '\\\\.\\PhysicalDrive2', mountpoints: ['E:\\'] },
    ];
    assert.equal(driveHoldingFile(win, 'e:\\images\\os.img')?.id, 'e');
    assert.equal(driveHoldingFile(win, 'C:\\Users\\me\\os.img')?.id, 'c');
    assert.equal(driveHoldingFile(win, 'D:\\os.img'), undefined);
  });

  test('formatBytes', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(7_948_206_080), '7.9 GB');
    assert.equal(formatBytes(2_000_365_289_472), '2.0 TB');
  });
});

test('a virtio disk whose only "model" is its bus vendor id (0x1af4) is given no model, rather than that number', () => {
  const raw = parse(readFileSync(path.join(FIXTURES, 'vm-virtio-this-machine.lsblk.json'), 'utf8')).find((d) => d.device === '/dev/vda');
  assert.ok(raw);
  assert.equal(driveInfoFromDrivelist({ ...raw, description: '0x1af4' }).model, '');
  assert.equal(driveInfoFromDrivelist({ ...raw, description: '0x1af4' }, { model: '0x1af4 0x1001' }).model, '');
  assert.equal(driveInfoFromDrivelist({ ...raw, description: 'QEMU HARDDISK' }).model, 'QEMU HARDDISK');
  assert.equal(driveInfoFromDrivelist({ ...raw, description: '' }, { model: 'ATA Samsung SSD 870' }).model, 'ATA Samsung SSD 870');
});

test('a drive its capacity check found counterfeit refuses an image larger than it really stores, and warns otherwise', () => {
  const sd = drive(machine('laptop-nvme-sd-reader'), '/dev/mmcblk0');
  const real = { [sd.id]: 4_000_000_000 };
  const tooBig = assessDrive(sd, { showAllDrives: false, imageSize: 5_000_000_000, realCapacity: real });
  assert.equal(tooBig.selectable, false);
  const reason = tooBig.reasons.find((r) => r.code === 'FAKE_CAPACITY');
  assert.equal(reason?.severity, 'error');
  assert.match(reason?.text ?? '', /stores only 4\.0 GB of the .* it claims \(its capacity check found it counterfeit or failing\): the image needs 5\.0 GB and would be damaged\.$/);
  assert.equal(refuseTarget(tooBig)?.code, 'IMAGE_TOO_LARGE');
  const fits = assessDrive(sd, { showAllDrives: false, imageSize: 1_000_000_000, realCapacity: real });
  assert.equal(fits.selectable, true);
  assert.equal(fits.reasons.find((r) => r.code === 'FAKE_CAPACITY')?.severity, 'warning');
  assert.equal(assessDrive(sd, { showAllDrives: false, imageSize: 5_000_000_000 }).reasons.some((r) => r.code === 'FAKE_CAPACITY'), false);
});
