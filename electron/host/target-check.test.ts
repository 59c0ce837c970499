import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DriveInfo } from '../../shared/drive-types';
import { driveHoldingFile, targetRefusal, type TargetCheckContext } from './target-check';

function drive(path: string, extra: Partial<DriveInfo> = {}): DriveInfo {
  return {
    id: `id-${path}`,
    path,
    size: 8e9,
    model: 'SanDisk Ultra',
    bus: 'usb',
    removable: true,
    readOnly: false,
    system: false,
    virtual: false,
    isCard: false,
    isUSB: true,
    mountpoints: [],
    logicalBlockSize: 512,
    ...extra,
  };
}

const system = drive('/dev/vda', { system: true, removable: false, mountpoints: ['/', '/boot'] });
const stick = drive('/dev/sdb', { mountpoints: ['/media/me/STICK'] });
const loop1 = drive('/dev/loop1', { bus: 'loop' });
const loop10 = drive('/dev/loop10', { bus: 'loop' });
const all = [system, stick, loop1, loop10];
const mounts = ['/', '/boot', '/dev/shm', '/media/me/STICK', '/proc'];

function context(extra: Partial<TargetCheckContext> = {}): TargetCheckContext {
  return { imagePath: '/dev/shm/raspios.img', imageSize: 4e9, allDrives: all, systemMounts: mounts, allowSystem: false, ...extra };
}

describe('target check', () => {
  it('finds the drive holding an image by its deepest mount', () => {
    assert.equal(driveHoldingFile('/media/me/STICK/raspios.img', all, mounts)?.path, '/dev/sdb');
    assert.equal(driveHoldingFile('/home/me/raspios.img', all, mounts)?.path, '/dev/vda');
    assert.equal(driveHoldingFile('/dev/shm/raspios.img', all, mounts), undefined, 'tmpfs under / is on no drive');
    assert.equal(driveHoldingFile('/media/me/STICKY/x.img', all, mounts)?.path, '/dev/vda', 'a prefix of a name is not a parent folder');
    assert.equal(driveHoldingFile('/dev/loop1', all, mounts)?.path, '/dev/loop1');
    assert.equal(driveHoldingFile('/dev/loop1p2', all, mounts)?.path, '/dev/loop1');
    assert.equal(driveHoldingFile('/dev/loop10', all, mounts)?.path, '/dev/loop10', 'loop10 is not a partition of loop1');
    assert.equal(driveHoldingFile('/dev/sdb1', all, mounts)?.path, '/dev/sdb');
  });

  it('refuses with the code and a reason naming the drive', () => {
    assert.equal(targetRefusal(stick, context()), undefined);
    assert.equal(targetRefusal(stick, context({ imagePath: '/media/me/STICK/raspios.img' }))?.code, 'SOURCE_ON_TARGET');
    const sys = targetRefusal(system, context());
    assert.equal(sys?.code, 'SYSTEM_DRIVE');
    assert.match(sys?.message ?? '', /SanDisk Ultra \(\/dev\/vda\)/);
    assert.equal(targetRefusal(system, context({ allowSystem: true })), undefined, 'show-all-drives + confirmation');
    assert.equal(targetRefusal(drive('/dev/sdc', { readOnly: true }), context())?.code, 'TARGET_READ_ONLY');
    assert.equal(targetRefusal(drive('/dev/sdc', { size: 2e9 }), context())?.code, 'IMAGE_TOO_LARGE');
    assert.equal(targetRefusal(drive('/dev/sdc', { size: 2e9 }), context({ imageSize: undefined })), undefined, 'unknown size: the engine decides');
    assert.equal(targetRefusal(loop1, context({ imagePath: '/dev/loop1' }))?.code, 'SOURCE_ON_TARGET');
  });
});
