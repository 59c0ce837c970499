// A drive read as the image (copying a card: the image is /dev/sdb, or a partition of it) cannot
// be written by the same flash: the picker says so before Flash!, as the host would refuse it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageInfo } from '../../shared/contract';
import { DEFAULT_SETTINGS } from '../../shared/contract';
import { createAppStores } from './app-stores';
import { driveOfDevicePath, viewDrives } from './drive-suitability';
import { FakeApi, settle } from './fake-api';
import { drive } from './test-drives';

const DRIVES = [
  drive({ id: 'loop1' }),
  drive({ id: 'loop10' }),
  drive({ id: 'sdb', bus: 'usb', virtual: false, removable: true }),
  drive({ id: 'mmcblk0', bus: 'sd', virtual: false, removable: true, isCard: true }),
];
const deviceImage = (path: string): ImageInfo => ({ path, name: path.replace(/^.*\//, ''), storedSize: 32_000_000, formats: ['raw'] });

test('a device given as the image is its own drive, as are its partitions; loop10 is not loop1', () => {
  assert.equal(driveOfDevicePath(DRIVES, '/dev/loop1')?.id, 'loop1');
  assert.equal(driveOfDevicePath(DRIVES, '/dev/loop1p2')?.id, 'loop1');
  assert.equal(driveOfDevicePath(DRIVES, '/dev/loop10')?.id, 'loop10');
  assert.equal(driveOfDevicePath(DRIVES, '/dev/sdb1')?.id, 'sdb');
  assert.equal(driveOfDevicePath(DRIVES, '/dev/mmcblk0p1')?.id, 'mmcblk0');
  assert.equal(driveOfDevicePath(DRIVES, '/dev/mmcblk01'), undefined);
  assert.equal(driveOfDevicePath(DRIVES, '/dev/sdbx'), undefined);
  assert.equal(driveOfDevicePath(DRIVES, '/home/me/sdb.img'), undefined);
});

test('the drive read as the image cannot be ticked as a target; the others can', () => {
  const views = viewDrives(DRIVES, deviceImage('/dev/loop1'), false);
  const loop1 = views.find((v) => v.drive.id === 'loop1')!;
  assert.equal(loop1.selectable, false);
  assert.match(loop1.reasons[0]?.text ?? '', /holds the image you are writing/);
  assert.equal(views.find((v) => v.drive.id === 'loop10')?.selectable, true);
  assert.equal(viewDrives(DRIVES, deviceImage('/dev/sdb2'), false).find((v) => v.drive.id === 'sdb')?.selectable, false);
});

test('choosing a ticked drive as the image takes it out of the selection, saying why', async () => {
  const api = new FakeApi()
    .handle('drives.list', () => DRIVES)
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }))
    .handle('image.inspect', ({ path }) => deviceImage(path!));
  const stores = createAppStores({ api, kind: 'browser' });
  await settle();
  stores.drives.getState().selectDrives(['loop1', 'loop10']);
  await stores.image.getState().openPath('/dev/loop1');
  assert.deepEqual(stores.drives.getState().selected, ['loop10']);
  assert.match(stores.drives.getState().dropped[0]?.reason ?? '', /\/dev\/loop1\b.*holds the image/);
});
