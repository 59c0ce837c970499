import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import type { DriveInfo } from '../../shared/drive-types';
import { createLoopDevice, loopSkipReason } from '../test-support/loop-device';
import { DriveScanner, listDrives } from './scanner';

const skip = loopSkipReason();

function nextChange(scanner: DriveScanner, predicate: (drives: DriveInfo[]) => boolean): Promise<DriveInfo[]> {
  return new Promise((resolve) => {
    const onChange = (drives: DriveInfo[]): void => {
      if (!predicate(drives)) return;
      scanner.off('changed', onChange);
      resolve(drives);
    };
    scanner.on('changed', onChange);
  });
}

test('listDrives sees an attached loop device only when asked to', { skip }, async () => {
  const loop = createLoopDevice(8 << 20, { sectorSize: 4096 });
  try {
    const withLoop = await listDrives({ includeLoop: true });
    const drive = withLoop.find((d) => d.path === loop.path);
    assert.ok(drive, `${loop.path} missing from ${withLoop.map((d) => d.path).join(', ')}`);
    assert.equal(drive.size, 8 << 20);
    assert.equal(drive.bus, 'loop');
    assert.equal(drive.logicalBlockSize, 4096);
    assert.equal(drive.system, false);
    assert.deepEqual(drive.mountpoints, []);
    const without = await listDrives({ includeLoop: false });
    assert.equal(without.find((d) => d.path === loop.path), undefined);
  } finally {
    loop.dispose();
  }
});

test('listDrives marks the disk holding / as a system drive', async () => {
  const drives = await listDrives({ includeLoop: false });
  const root = drives.filter((d) => d.mountpoints.includes('/'));
  for (const drive of root) assert.equal(drive.system, true, `${drive.path} holds / but is not system`);
});

test('the watcher pushes attach, mount, and detach of a loop device', { skip }, async () => {
  const scanner = new DriveScanner({ includeLoop: true, intervalMs: 200 });
  const mountDir = mkdtempSync('/tmp/blockwise-scan-mnt-');
  const loop = createLoopDevice(16 << 20, { partscan: false });
  let mounted = false;
  try {
    const appeared = nextChange(scanner, (ds) => ds.some((d) => d.path === loop.path));
    scanner.start();
    const first = (await appeared).find((d) => d.path === loop.path);
    assert.ok(first);

    execFileSync('mkfs.ext4', ['-q', '-F', loop.path], { stdio: 'ignore' });
    const mountedEvent = nextChange(scanner, (ds) => ds.some((d) => d.path === loop.path && d.mountpoints.includes(mountDir)));
    execFileSync('mount', [loop.path, mountDir]);
    mounted = true;
    const after = (await mountedEvent).find((d) => d.path === loop.path);
    assert.equal(after?.id, first.id, 'mounting must not change the drive id');

    execFileSync('umount', [mountDir]);
    mounted = false;
    const gone = nextChange(scanner, (ds) => !ds.some((d) => d.path === loop.path));
    loop.dispose();
    await gone;
  } finally {
    scanner.stop();
    if (mounted) execFileSync('umount', [mountDir]);
    loop.dispose();
    rmSync(mountDir, { recursive: true, force: true });
  }
});
