// The stores against a fake API: the flow of one flash, selection rules, and image choice.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ActiveJob, ImageInfo } from '../../shared/contract';
import { DEFAULT_SETTINGS } from '../../shared/contract';
import type { FlashResult } from '../../shared/flash-types';
import { createAppStores } from './app-stores';
import { FakeApi, settle } from './fake-api';
import { drive } from './test-drives';

const IMAGE: ImageInfo = { path: '/images/os.img', name: 'os.img', storedSize: 32_000_000, formats: ['raw'] };

function setup(drives = [drive({ id: 'loop1' }), drive({ id: 'loop2' })]) {
  const api = new FakeApi()
    .handle('drives.list', () => drives)
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }))
    .handle('image.inspect', ({ path }) => ({ ...IMAGE, path }))
    .handle('flash.start', () => ({ jobId: 'job-1' }))
    .handle('flash.cancel', () => ({ cancelled: true }));
  const stores = createAppStores({ api, kind: 'browser' });
  return { api, stores };
}

function result(targets: FlashResult['targets']): FlashResult {
  return { imageSize: 32_000_000, imageSha256: 'ab'.repeat(32), mappedBytes: 32_000_000, durationMs: 2000, writeMs: 1500, verifyMs: 500, targets };
}

async function ready() {
  const ctx = setup();
  await settle();
  await ctx.stores.image.getState().openPath('/images/os.img');
  ctx.stores.drives.getState().selectDrive('loop1');
  return ctx;
}

test('a flash goes starting → flashing → done, sending only drive ids', async () => {
  const { api, stores } = await ready();
  await stores.flash.getState().startFlash();
  assert.equal(stores.flash.getState().status, 'flashing');
  assert.deepEqual(api.calls.find((c) => c.name === 'flash.start')?.args, { imagePath: '/images/os.img', driveIds: ['loop1'] });
  api.emit('flash.progress', { jobId: 'job-1', progress: { phase: 'writing', position: 1, total: 2, percent: 50, speed: 1, effectiveSpeed: 1, targets: [] } });
  assert.equal(stores.flash.getState().progress?.percent, 50);
  api.emit('flash.done', { jobId: 'job-1', result: result([{ path: '/dev/loop1', ok: true, bytesWritten: 1, verified: true }]) });
  assert.equal(stores.flash.getState().status, 'done');
  stores.flash.getState().reset();
  assert.equal(stores.flash.getState().status, 'idle');
});

test('events that arrive before the flash.start answer are not lost', async () => {
  const { api, stores } = await ready();
  api.handle('flash.start', async () => {
    api.emit('flash.progress', { jobId: 'job-9', progress: { phase: 'writing', position: 0, percent: 0, speed: 0, effectiveSpeed: 0, targets: [] } });
    api.emit('flash.done', { jobId: 'job-9', result: result([{ path: '/dev/loop1', ok: true, bytesWritten: 1, verified: true }]) });
    return { jobId: 'job-9' };
  });
  await stores.flash.getState().startFlash();
  assert.equal(stores.flash.getState().status, 'done');
  assert.equal(stores.flash.getState().jobId, 'job-9');
});

test('events of another job are ignored', async () => {
  const { api, stores } = await ready();
  await stores.flash.getState().startFlash();
  api.emit('flash.error', { jobId: 'someone-else', error: { code: 'WRITE_IO_ERROR', message: 'x' } });
  assert.equal(stores.flash.getState().status, 'flashing');
});

test('cancel asks first, then ends in the cancelled view', async () => {
  const { api, stores } = await ready();
  await stores.flash.getState().startFlash();
  stores.flash.getState().requestCancel();
  assert.equal(stores.flash.getState().confirmingCancel, true);
  stores.flash.getState().dismissCancel();
  assert.equal(api.calls.some((c) => c.name === 'flash.cancel'), false, 'dismissing must not cancel');
  stores.flash.getState().requestCancel();
  await stores.flash.getState().confirmCancel();
  assert.equal(stores.flash.getState().status, 'cancelling');
  api.emit('flash.error', { jobId: 'job-1', error: { code: 'CANCELLED', message: 'Cancelled.', details: { driveIncomplete: true } } });
  assert.equal(stores.flash.getState().status, 'cancelled');
});

test('a failed start shows the host error, and a done with every drive failed is a failure', async () => {
  const { api, stores } = await ready();
  api.handle('flash.start', () => Promise.reject(Object.assign(new Error('gone'), { code: 'TARGET_NOT_FOUND' })));
  await stores.flash.getState().startFlash();
  assert.equal(stores.flash.getState().status, 'failed');
  assert.equal(stores.flash.getState().error?.code, 'TARGET_NOT_FOUND');
  stores.flash.getState().reset();
  api.handle('flash.start', () => ({ jobId: 'job-2' }));
  await stores.flash.getState().startFlash();
  api.emit('flash.done', { jobId: 'job-2', result: result([{ path: '/dev/loop1', ok: false, bytesWritten: 0, verified: false, error: { code: 'VERIFY_MISMATCH', message: 'differs at 4096' } }]) });
  assert.equal(stores.flash.getState().status, 'failed');
  assert.equal(stores.flash.getState().error?.code, 'VERIFY_MISMATCH');
});

test('unsuitable drives cannot be selected; several suitable ones can', async () => {
  const { stores } = setup([drive({ id: 'loop1' }), drive({ id: 'loop2' }), drive({ id: 'ro', readOnly: true }), drive({ id: 'tiny', size: 1_000_000 })]);
  await settle();
  await stores.image.getState().openPath('/images/os.img');
  const drives = stores.drives.getState();
  drives.toggleDrive('ro');
  drives.toggleDrive('tiny');
  drives.toggleDrive('loop1');
  drives.toggleDrive('loop2');
  assert.deepEqual(stores.drives.getState().selected, ['loop1', 'loop2']);
  stores.drives.getState().toggleDrive('loop1');
  assert.deepEqual(stores.drives.getState().selected, ['loop2']);
});

test('an unplugged drive leaves the list and the selection', async () => {
  const { api, stores } = await ready();
  api.emit('drives.changed', [drive({ id: 'loop2' })]);
  assert.deepEqual(stores.drives.getState().drives.map((d) => d.id), ['loop2']);
  assert.deepEqual(stores.drives.getState().selected, []);
  // …and the person is told which, and why, until they next choose.
  assert.deepEqual(
    stores.drives.getState().dropped.map((d) => d.reason),
    ['/dev/loop1 was unplugged or can no longer be found.'],
  );
  stores.drives.getState().toggleDrive('loop2');
  assert.deepEqual(stores.drives.getState().dropped, []);
});

test('a drive the person unticks is not reported as dropped', async () => {
  const { stores } = await ready();
  stores.drives.getState().toggleDrive('loop1');
  stores.drives.getState().prune(stores.image.getState().image);
  assert.deepEqual(stores.drives.getState().dropped, []);
});

test('choosing a larger image drops a drive that became too small', async () => {
  const { api, stores } = await ready();
  api.handle('image.inspect', ({ path }) => ({ ...IMAGE, path, storedSize: 128_000_000 }));
  await stores.image.getState().openPath('/images/big.img');
  assert.deepEqual(stores.drives.getState().selected, []);
  assert.deepEqual(
    stores.drives.getState().dropped.map((d) => d.reason),
    ['/dev/loop1 is too small: the image needs 128 MB, the drive holds 64.0 MB.'],
  );
});

test('a file dropped in a browser explains why it cannot be used; with a path it is opened', async () => {
  const { api, stores } = setup();
  await stores.image.getState().dropFiles([{ name: 'os.img', path: undefined }]);
  assert.match(stores.image.getState().notice ?? '', /Select image/);
  assert.equal(stores.image.getState().image, null);
  await stores.image.getState().dropFiles([{ name: 'os.img', path: '/images/os.img' }]);
  assert.equal(stores.image.getState().image?.path, '/images/os.img');
  assert.ok(api.calls.some((c) => c.name === 'image.inspect'));
});

test('in the browser, Select image opens the file browser; a bad pick keeps it open with the error', async () => {
  const { api, stores } = setup();
  api.handle('image.browse', () => ({ dir: '/images', parent: '/', entries: [{ name: 'notes.txt', path: '/images/notes.txt', kind: 'file' }] }));
  api.handle('image.inspect', () => Promise.reject(Object.assign(new Error('not an image'), { code: 'SOURCE_NOT_IMAGE' })));
  await stores.image.getState().pickImage();
  assert.equal(stores.image.getState().browser?.dir, '/images');
  await stores.image.getState().openPath('/images/notes.txt');
  assert.equal(stores.image.getState().browser?.error?.code, 'SOURCE_NOT_IMAGE');
  assert.equal(stores.image.getState().image, null);
});

test('a system drive is hidden until "show all drives", then needs an explicit yes before flashing', async () => {
  const system = drive({ id: 'sda', bus: 'sata', virtual: false, system: true, mountpoints: ['/boot/efi'], size: 500e9 });
  const { api, stores } = setup([drive({ id: 'loop1' }), system]);
  api.handle('settings.set', (change) => ({ ...DEFAULT_SETTINGS, ...change }));
  await settle();
  await stores.image.getState().openPath('/images/os.img');
  stores.drives.getState().toggleDrive('sda');
  assert.deepEqual(stores.drives.getState().selected, [], 'hidden system drive must not be selectable');

  await stores.settings.getState().update({ showAllDrives: true });
  stores.drives.getState().toggleDrive('sda');
  assert.deepEqual(stores.drives.getState().selected, ['sda']);
  await stores.flash.getState().startFlash();
  assert.deepEqual(stores.flash.getState().confirmingSystem.map((d) => d.id), ['sda']);
  assert.equal(api.calls.some((c) => c.name === 'flash.start'), false, 'nothing starts before the yes');
  stores.flash.getState().dismissSystem();
  await stores.flash.getState().startFlash();
  await stores.flash.getState().confirmSystem();
  assert.deepEqual(api.calls.find((c) => c.name === 'flash.start')?.args, { imagePath: '/images/os.img', driveIds: ['sda'], confirmSystem: true });

  stores.flash.getState().onError({ jobId: 'job-1', error: { code: 'CANCELLED', message: 'x' } });
  stores.flash.getState().reset();
  await stores.settings.getState().update({ showAllDrives: false });
  assert.deepEqual(stores.drives.getState().selected, [], 'turning the setting off drops the system drive');
  assert.deepEqual(
    stores.drives.getState().dropped.map((d) => d.reason),
    ['/dev/sda is a system drive, hidden now that “Show all drives” is off.'],
  );
});

test('a settings change that the host refuses is rolled back', async () => {
  const { api, stores } = setup();
  await settle();
  api.handle('settings.set', () => Promise.reject(Object.assign(new Error('disk full'), { code: 'INTERNAL' })));
  await stores.settings.getState().update({ verify: false });
  assert.equal(stores.settings.getState().settings.verify, true);
  assert.equal(stores.settings.getState().error?.message, 'disk full');
});

/** A job as the host lists it in flash.jobs. */
function listedJob(overrides: Partial<ActiveJob> = {}): ActiveJob {
  return {
    jobId: 'job-7',
    imagePath: '/images/other.img',
    imageName: 'other.img',
    download: false,
    driveIds: ['loop2'],
    drives: [drive({ id: 'loop2' })],
    cancelling: false,
    ...overrides,
  };
}

test('a tab that opens during a flash follows it: progress, then its outcome', async () => {
  const progress = { phase: 'writing' as const, position: 5, total: 10, percent: 50, speed: 1, effectiveSpeed: 1, targets: [] };
  const api = new FakeApi()
    .handle('drives.list', () => [drive({ id: 'loop2' })])
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }))
    .handle('flash.jobs', () => [listedJob({ progress })])
    .handle('image.inspect', ({ path }) => ({ ...IMAGE, path, name: 'other.img', storedSize: 5_000_000 }));
  const stores = createAppStores({ api, kind: 'browser' });
  await settle();
  const state = stores.flash.getState();
  assert.equal(state.status, 'flashing');
  assert.equal(state.jobId, 'job-7');
  assert.equal(state.image?.name, 'other.img');
  assert.equal(state.image?.path, '/images/other.img');
  assert.deepEqual(state.targets.map((d) => d.id), ['loop2']);
  assert.equal(state.progress?.percent, 50);
  // The steps show what it writes: the image as the host inspects it, the drive selected.
  assert.equal(stores.image.getState().image?.name, 'other.img');
  assert.equal(stores.image.getState().image?.storedSize, 5_000_000);
  assert.deepEqual(stores.drives.getState().selected, ['loop2']);
  api.emit('flash.done', { jobId: 'job-7', result: result([{ path: '/dev/loop2', ok: true, bytesWritten: 1, verified: true }]) });
  assert.equal(stores.flash.getState().status, 'done');
});

test('a tab that opens during a cancel shows it cancelling; a download keeps its address', async () => {
  const api = new FakeApi()
    .handle('drives.list', () => [])
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }))
    .handle('flash.jobs', () => [listedJob({ cancelling: true, download: true, imagePath: 'https://example.com/os.img.xz', imageName: 'os.img.xz' })]);
  const stores = createAppStores({ api, kind: 'browser' });
  await settle();
  assert.equal(stores.flash.getState().status, 'cancelling');
  assert.equal(stores.flash.getState().image?.url, 'https://example.com/os.img.xz');
  // image.inspect fails (no handler): the step still names the image being written.
  assert.equal(stores.image.getState().image?.name, 'os.img.xz');
});

test('a job that ended before the tab opened is not shown; nor does a result on screen give way', async () => {
  const ended = listedJob({ outcome: { result: result([{ path: '/dev/loop2', ok: true, bytesWritten: 1, verified: true }]) } });
  const api = new FakeApi()
    .handle('drives.list', () => [])
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }))
    .handle('flash.jobs', () => [ended]);
  const stores = createAppStores({ api, kind: 'browser' });
  await settle();
  assert.equal(stores.flash.getState().status, 'idle');
  stores.flash.setState({ status: 'failed', error: { code: 'WRITE_IO_ERROR', message: 'x' } });
  stores.flash.getState().rejoin([listedJob()]);
  assert.equal(stores.flash.getState().status, 'failed');
  assert.equal(stores.flash.getState().jobId, null);
});

test('after a dropped connection, our job’s outcome comes from flash.jobs; a forgotten job is said to be stopped', async () => {
  const { stores } = await ready();
  await stores.flash.getState().startFlash();
  assert.equal(stores.flash.getState().status, 'flashing');
  // It ended while the socket was down: the done event was never heard.
  stores.flash.getState().rejoin([listedJob({ jobId: 'job-1', outcome: { error: { code: 'WRITE_IO_ERROR', message: 'EIO at byte 4096', details: { driveIncomplete: true } } } })]);
  assert.equal(stores.flash.getState().status, 'failed');
  assert.equal(stores.flash.getState().error?.code, 'WRITE_IO_ERROR');

  stores.flash.getState().reset();
  await stores.flash.getState().startFlash();
  stores.flash.getState().rejoin([listedJob({ jobId: 'job-1', progress: { phase: 'verifying', position: 1, total: 2, percent: 50, speed: 1, effectiveSpeed: 1, targets: [] } })]);
  assert.equal(stores.flash.getState().status, 'flashing');
  assert.equal(stores.flash.getState().progress?.phase, 'verifying');

  stores.flash.getState().rejoin([]); // the host restarted
  const state = stores.flash.getState();
  assert.equal(state.status, 'cancelled');
  assert.match(state.error?.message ?? '', /restarted while it was writing \/dev\/loop1, which stopped the flash: it is incomplete/);
  assert.equal(state.error?.details?.driveIncomplete, true);
});

test('the job this tab followed before a reload is shown again, with its outcome if it has ended', async () => {
  const api = new FakeApi()
    .handle('drives.list', () => [drive({ id: 'loop2' })])
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }));
  const stores = createAppStores({ api, kind: 'browser' });
  await settle();
  const failed = listedJob({ jobId: 'job-9', outcome: { error: { code: 'WRITE_IO_ERROR', message: 'EIO at byte 4096', details: { driveIncomplete: true } } } });
  const running = listedJob({ jobId: 'job-8' });
  stores.flash.getState().rejoin([running, failed], 'job-9');
  const state = stores.flash.getState();
  assert.equal(state.status, 'failed');
  assert.equal(state.jobId, 'job-9');
  assert.equal(state.error?.code, 'WRITE_IO_ERROR');
  assert.deepEqual(state.targets.map((d) => d.id), ['loop2']);
  assert.equal(state.image?.name, 'other.img');
});

test('a capacity check runs once per drive at a time, keeps its finding or its error, and forgets an unplugged drive', async () => {
  const { api, stores } = setup();
  await settle();
  let answer: (value: import('../../shared/flash-types').CapacityCheckResult) => void = () => undefined;
  api.handle('drives.check', ({ driveId }) =>
    driveId === 'loop2'
      ? Promise.reject(Object.assign(new Error('busy'), { code: 'TARGET_BUSY', message: '/dev/loop2 is already being written by another job; wait for it to finish.' }))
      : new Promise((resolve) => (answer = resolve)),
  );
  const drives = stores.drives;
  const first = drives.getState().checkDrive('loop1');
  void drives.getState().checkDrive('loop1'); // a second click while it runs asks nothing more
  assert.deepEqual(drives.getState().checks.loop1, { status: 'running' });
  assert.equal(api.calls.filter((c) => c.name === 'drives.check').length, 1);
  api.emit('drives.checkProgress', { driveId: 'loop1', percent: 40 });
  assert.deepEqual(drives.getState().checks.loop1, { status: 'running', percent: 40 });
  const found = { path: '/dev/loop1', claimed: 64e6, verdict: 'wraps', keeps: 16_777_216, firstBad: 16_777_216, wrapsTo: 0, step: 1_048_576, probes: 62, restored: true, durationMs: 40 } as const;
  answer(found);
  await first;
  assert.deepEqual(drives.getState().checks.loop1, { status: 'done', result: found });
  api.emit('drives.checkProgress', { driveId: 'loop1', percent: 99 }); // late: the finding stays
  assert.deepEqual(drives.getState().checks.loop1, { status: 'done', result: found });
  await drives.getState().checkDrive('loop2');
  const failed = drives.getState().checks.loop2;
  assert.ok(failed?.status === 'failed' && failed.error.code === 'TARGET_BUSY', JSON.stringify(failed));
  api.emit('drives.changed', [drive({ id: 'loop2' })]);
  assert.equal(drives.getState().checks.loop1, undefined, 'the unplugged drive’s finding is gone');
  assert.ok(drives.getState().checks.loop2);
});
