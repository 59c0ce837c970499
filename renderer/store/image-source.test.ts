// The image step's new verbs against a fake API: a URL chosen through its dialog, one image of a
// zip chosen before Flash! may start, and a pasted SHA-256 travelling with flash.start.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageInfo } from '../../shared/contract';
import { DEFAULT_SETTINGS } from '../../shared/contract';
import { createAppStores } from './app-stores';
import { FakeApi, settle } from './fake-api';
import { imageBlockReason } from './image-store';
import { drive } from './test-drives';

const HEX = 'c0ffee'.repeat(10) + 'abcd';

function setup(inspect: (args: { path?: string; url?: string; entry?: string }) => ImageInfo | Promise<ImageInfo>) {
  const api = new FakeApi()
    .handle('drives.list', () => [drive({ id: 'loop1' })])
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }))
    .handle('image.inspect', inspect)
    .handle('flash.start', () => ({ jobId: 'job-1' }));
  const stores = createAppStores({ api, kind: 'browser' });
  return { api, stores };
}

test('a URL is inspected by the host and flashed by its address, with the pasted checksum', async () => {
  const { api, stores } = setup(({ url }) => ({ url: url!, name: 'os.img.gz', storedSize: 1000, formats: ['gzip'] }));
  await settle();
  const image = stores.image.getState();
  image.openUrlDialog();
  await image.openUrl('  https://example.org/os.img.gz ');
  assert.equal(stores.image.getState().urlDialog, null);
  assert.equal(stores.image.getState().image?.url, 'https://example.org/os.img.gz');
  stores.image.getState().setChecksumText(`${HEX.toUpperCase()}  os.img.gz`);
  stores.drives.getState().selectDrive('loop1');
  await stores.flash.getState().startFlash();
  assert.deepEqual(api.calls.find((c) => c.name === 'flash.start')?.args, { url: 'https://example.org/os.img.gz', checksum: HEX, driveIds: ['loop1'] });
});

test('an address the host refuses keeps the dialog open with the reason, and the previous image', async () => {
  const { stores } = setup(({ url }) => Promise.reject(Object.assign(new Error(`The server answered 404 Not Found for ${url}.`), { code: 'DOWNLOAD_FAILED' })));
  stores.image.getState().openUrlDialog();
  await stores.image.getState().openUrl('https://example.org/missing.img');
  assert.equal(stores.image.getState().urlDialog?.error?.code, 'DOWNLOAD_FAILED');
  assert.equal(stores.image.getState().image, null);
});

test('a zip with several images blocks Flash! until one is chosen; the choice is sent', async () => {
  const { api, stores } = setup(({ path, entry }) =>
    entry
      ? { path: path!, name: 'pack.zip', storedSize: 500, formats: ['zip'], entry, imageSize: 4096 }
      : { path: path!, name: 'pack.zip', storedSize: 500, formats: ['zip'], entries: ['a.img', 'b.img'] },
  );
  await settle();
  await stores.image.getState().openPath('/images/pack.zip');
  stores.drives.getState().selectDrive('loop1');
  assert.match(imageBlockReason(stores.image.getState()) ?? '', /Choose which image/);
  await stores.flash.getState().startFlash();
  assert.equal(api.calls.filter((c) => c.name === 'flash.start').length, 0, 'no flash before an entry is chosen');

  await stores.image.getState().chooseEntry('b.img');
  assert.deepEqual(stores.image.getState().image?.entries, ['a.img', 'b.img'], 'the list stays so the choice can change');
  assert.equal(imageBlockReason(stores.image.getState()), undefined);
  await stores.flash.getState().startFlash();
  assert.deepEqual(api.calls.find((c) => c.name === 'flash.start')?.args, { imagePath: '/images/pack.zip', entry: 'b.img', driveIds: ['loop1'] });
});

test('a malformed pasted checksum blocks Flash!; a new image clears it', async () => {
  const { api, stores } = setup(({ path }) => ({ path: path!, name: 'os.img', storedSize: 4096, formats: ['raw'] }));
  await settle();
  await stores.image.getState().openPath('/images/os.img');
  stores.drives.getState().selectDrive('loop1');
  stores.image.getState().setChecksumText(HEX.slice(2));
  assert.match(imageBlockReason(stores.image.getState()) ?? '', /SHA-256/);
  await stores.flash.getState().startFlash();
  assert.equal(api.calls.filter((c) => c.name === 'flash.start').length, 0);
  await stores.image.getState().openPath('/images/other.img');
  assert.equal(stores.image.getState().checksumText, '');
  assert.equal(stores.image.getState().checksumInput.kind, 'none');
});

test('Cancel while the host still checks an address abandons it: the late answer neither chooses it nor reopens the dialog', async () => {
  const answers: { resolve(image: ImageInfo): void; reject(error: Error): void }[] = [];
  const { stores } = setup(() => new Promise<ImageInfo>((resolve, reject) => answers.push({ resolve, reject })));
  await settle();
  const image = stores.image.getState();

  image.openUrlDialog();
  const slow = image.openUrl('https://example.org/slow.img.xz');
  assert.equal(stores.image.getState().loading, true);
  stores.image.getState().closeUrlDialog();
  assert.equal(stores.image.getState().loading, false, 'Select image and Use a URL work again at once');
  answers[0]!.resolve({ url: 'https://example.org/slow.img.xz', name: 'slow.img.xz', storedSize: 1000, formats: ['xz'] });
  await slow;
  assert.equal(stores.image.getState().image, null, 'the address turned down is not chosen');
  assert.equal(stores.image.getState().urlDialog, null);

  stores.image.getState().openUrlDialog();
  const refused = stores.image.getState().openUrl('https://example.org/missing.img');
  stores.image.getState().closeUrlDialog();
  answers[1]!.reject(Object.assign(new Error('The server answered 404 Not Found.'), { code: 'DOWNLOAD_FAILED' }));
  await refused;
  assert.equal(stores.image.getState().urlDialog, null, 'the dialog does not come back with the error');
  assert.equal(stores.image.getState().error, null);
});

test('closing the file browser while the picked file is inspected abandons it', async () => {
  const answers: (() => void)[] = [];
  const { api, stores } = setup(({ path }) => new Promise<ImageInfo>((resolve) => answers.push(() => resolve({ path: path!, name: 'big.img', storedSize: 4096, formats: ['raw'] }))));
  api.handle('image.browse', () => ({ dir: '/images', entries: [{ name: 'big.img', path: '/images/big.img', kind: 'file' }] }));
  await settle();
  await stores.image.getState().browse();
  const picked = stores.image.getState().openPath('/images/big.img');
  stores.image.getState().closeBrowser();
  assert.equal(stores.image.getState().loading, false);
  answers[0]!();
  await picked;
  assert.equal(stores.image.getState().image, null);
});

test('the image a streamed tar showed first is not sent as a choice: the flash still checks that the stream holds no second one', async () => {
  // What the host's inspection says of a .tar.xz: the image it met first, with no list (it cannot read ahead).
  const { api, stores } = setup(({ path }) => ({ path: path!, name: 'pair.tar.xz', storedSize: 8_000_000, formats: ['xz', 'tar'], imageSize: 4_194_304, entry: 'one.img' }));
  await settle();
  await stores.image.getState().openPath('/images/pair.tar.xz');
  stores.drives.getState().selectDrive('loop1');
  await stores.flash.getState().startFlash();
  assert.deepEqual(api.calls.find((c) => c.name === 'flash.start')?.args, { imagePath: '/images/pair.tar.xz', driveIds: ['loop1'] });
});

test('a flash of one image of a zip, joined after a reload, is tried again with that image', async () => {
  const api = new FakeApi()
    .handle('drives.list', () => [drive({ id: 'loop1' })])
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }))
    .handle('flash.jobs', () => [
      { jobId: 'job-3', imagePath: '/images/pack.zip', imageName: 'pack.zip', download: false, entry: 'b.img', driveIds: ['loop1'], drives: [drive({ id: 'loop1' })], cancelling: false },
    ])
    // Inspected with the entry, a zip of several images answers for that one, without the list.
    .handle('image.inspect', ({ path, entry }) => ({ path: path!, name: 'pack.zip', storedSize: 500, formats: ['zip'], imageSize: 4096, ...(entry ? { entry } : {}) }))
    .handle('flash.start', () => ({ jobId: 'job-4' }));
  const stores = createAppStores({ api, kind: 'browser' });
  await settle();
  await settle();
  assert.equal(stores.flash.getState().jobId, 'job-3');
  api.emit('flash.error', { jobId: 'job-3', error: { code: 'WRITE_IO_ERROR', message: 'EIO', details: { path: '/dev/loop1' } } });
  stores.flash.getState().reset();
  await stores.flash.getState().startFlash();
  assert.deepEqual(api.calls.find((c) => c.name === 'flash.start')?.args, { imagePath: '/images/pack.zip', entry: 'b.img', driveIds: ['loop1'] });
});
