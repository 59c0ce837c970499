import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ejectCommands, macDiskPath, rereadCommands, unmountCommands, windowsDiskNumber } from './os-commands';

test('Linux unmounts the deepest mount points first, skipping swap', () => {
  assert.deepEqual(unmountCommands('linux', '/dev/sdb', ['/media/a', '/media/a/boot', '[SWAP]', '/media/b c']), [
    { command: 'umount', args: ['/media/a/boot'] },
    { command: 'umount', args: ['/media/b c'] },
    { command: 'umount', args: ['/media/a'] },
  ]);
  assert.deepEqual(unmountCommands('linux', '/dev/sdb', []), []);
});

test('macOS uses diskutil on the whole disk, even when given the raw node', () => {
  assert.deepEqual(unmountCommands('darwin', '/dev/rdisk4', ['/Volumes/BOOT']), [{ command: 'diskutil', args: ['unmountDisk', '/dev/disk4'] }]);
  assert.deepEqual(ejectCommands('darwin', '/dev/disk4'), [{ command: 'diskutil', args: ['eject', '/dev/disk4'] }]);
  assert.deepEqual(rereadCommands('darwin', '/dev/disk4'), []);
  assert.throws(() => macDiskPath('/dev/disk4s1'), /not a macOS whole-disk path/);
});

test('Windows removes the access paths of the disk\'s partitions, updates and offlines the disk', () => {
  const [unmount] = unmountCommands('win32', '\\\\.\\PhysicalDrive3', []);
  assert.equal(unmount?.command, 'powershell.exe');
  assert.match(unmount?.args.at(-1) ?? '', /^\$ErrorActionPreference = 'Stop'; Get-Partition -DiskNumber 3 \|/);
  assert.match(unmount?.args.at(-1) ?? '', /Remove-PartitionAccessPath -DiskNumber 3 -PartitionNumber \$p\.PartitionNumber -AccessPath \$_/);
  assert.equal(rereadCommands('win32', '\\\\.\\PhysicalDrive3')[0]?.args.at(-1), 'Update-Disk -Number 3');
  assert.equal(ejectCommands('win32', '\\\\.\\PhysicalDrive3')[0]?.args.at(-1), 'Set-Disk -Number 3 -IsOffline $true');
  assert.equal(windowsDiskNumber('\\\\.\\physicaldrive12'), 12);
  assert.throws(() => windowsDiskNumber('C:'), /not a Windows physical drive path/);
});

test('Linux re-reads with BLKRRPART and partx, ejects with udisksctl or eject', () => {
  assert.deepEqual(rereadCommands('linux', '/dev/sdb'), [
    { command: 'blockdev', args: ['--rereadpt', '/dev/sdb'] },
    { command: 'partx', args: ['-u', '/dev/sdb'] },
  ]);
  assert.deepEqual(ejectCommands('linux', '/dev/sdb').map((c) => c.command), ['udisksctl', 'eject']);
});
