// Flash! on a drive that a flash started in another tab is writing: the failure says so, without
// the advice for a drive held by some program (close it, unmount it: nothing to do here), offers
// to show that flash instead of a "Try again" that would fail the same way, and shows it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderToStaticMarkup } from 'react-dom/server';
import type { ActiveJob } from '../../shared/contract';
import { DEFAULT_SETTINGS } from '../../shared/contract';
import { createAppStores } from '../store/app-stores';
import { FakeApi, settle } from '../store/fake-api';
import { drive } from '../store/test-drives';
import { FailureView } from './failure-view';

const LOOP0 = drive({ id: 'loop0' });
const OTHER: ActiveJob = {
  jobId: 'job-other',
  imagePath: '/images/other.img',
  imageName: 'other.img',
  download: false,
  driveIds: ['loop0'],
  drives: [LOOP0],
  progress: { phase: 'writing', position: 5, total: 10, percent: 50, speed: 1, effectiveSpeed: 1, targets: [] },
  cancelling: false,
};

function setup() {
  let jobs: ActiveJob[] = [];
  const api = new FakeApi()
    .handle('drives.list', () => [LOOP0])
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }))
    .handle('flash.jobs', () => jobs)
    .handle('image.inspect', ({ path }) => ({ path: path!, name: path!.replace(/^.*\//, ''), storedSize: 4096, formats: ['raw'] }))
    .handle('flash.start', () =>
      Promise.reject(Object.assign(new Error('/dev/loop0 is already being written by another job; wait for it to finish.'), { code: 'TARGET_BUSY', details: { path: '/dev/loop0' } })),
    );
  const stores = createAppStores({ api, kind: 'browser' });
  return { stores, startElsewhere: () => (jobs = [OTHER]) };
}

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

test('a drive busy with a flash started in another tab: the failure names that flash and offers to show it', async () => {
  const { stores, startElsewhere } = setup();
  await settle(); // connected while nothing ran: nothing to follow
  assert.equal(stores.flash.getState().status, 'idle');
  startElsewhere();
  await stores.image.getState().openPath('/images/mine.img');
  stores.drives.getState().selectDrive('loop0');
  await stores.flash.getState().startFlash();
  const { status, error } = stores.flash.getState();
  assert.equal(status, 'failed');
  assert.equal(error?.details?.otherJob, 'job-other');

  const followed: string[] = [];
  const view = text(
    renderToStaticMarkup(
      <FailureView kind="failed" error={error} targets={[LOOP0]} results={[]} phase={undefined} imageSize={4096} imageLocation="/images/mine.img" onRetry={() => undefined} onBack={() => undefined} onFollow={(id) => followed.push(id)} />,
    ),
  );
  assert.match(view, /Another flash is writing the drive, started in another tab or window/);
  assert.doesNotMatch(view, /Close programs|unmount/);
  assert.match(view, /Show that flash/);
  assert.doesNotMatch(view, /Try again/);
});

test('"Show that flash" follows it: its progress, its image and its drive', async () => {
  const { stores, startElsewhere } = setup();
  await settle();
  startElsewhere();
  stores.flash.getState().reset();
  stores.followJob('job-other');
  await settle();
  await settle();
  const state = stores.flash.getState();
  assert.equal(state.status, 'flashing');
  assert.equal(state.jobId, 'job-other');
  assert.equal(state.progress?.percent, 50);
  assert.equal(stores.image.getState().image?.name, 'other.img');
  assert.deepEqual(stores.drives.getState().selected, ['loop0']);
});

test('a drive busy for another reason keeps the usual advice and "Try again"', () => {
  const view = text(
    renderToStaticMarkup(
      <FailureView
        kind="failed"
        error={{ code: 'TARGET_BUSY', message: '/dev/loop0 is in use by process 123 (mount).', details: { path: '/dev/loop0' } }}
        targets={[LOOP0]}
        results={[]}
        phase={undefined}
        imageSize={4096}
        imageLocation="/images/mine.img"
        onRetry={() => undefined}
        onBack={() => undefined}
        onFollow={() => undefined}
      />,
    ),
  );
  assert.match(view, /Close programs using the drive/);
  assert.match(view, /Try again/);
  assert.doesNotMatch(view, /Show that flash/);
});

test('events of another tab’s flash that arrive while ours starts are not taken for ours', async () => {
  const progress = { phase: 'writing' as const, position: 5, total: 10, percent: 50, speed: 1, effectiveSpeed: 1, targets: [{ path: '/dev/loop9', phase: 'writing' as const, position: 5, bytesWritten: 5, bytesVerified: 0 }] };
  const api = new FakeApi()
    .handle('drives.list', () => [LOOP0])
    .handle('settings.get', () => ({ ...DEFAULT_SETTINGS }))
    .handle('flash.jobs', () => [])
    .handle('image.inspect', ({ path }) => ({ path: path!, name: 'mine.img', storedSize: 4096, formats: ['raw'] }))
    .handle('flash.start', async () => {
      // Another tab's flash reports, then ours is answered, then ours reports.
      api.emit('flash.progress', { jobId: 'job-other', progress });
      api.emit('flash.done', { jobId: 'job-other', result: { imageSize: 10, mappedBytes: 10, durationMs: 1, writeMs: 1, verifyMs: 0, targets: [{ path: '/dev/loop9', ok: true, bytesWritten: 10, verified: true }] } });
      api.emit('flash.progress', { jobId: 'job-mine', progress: { ...progress, percent: 7, targets: [] } });
      return { jobId: 'job-mine' };
    });
  const stores = createAppStores({ api, kind: 'browser' });
  await settle();
  await stores.image.getState().openPath('/images/mine.img');
  stores.drives.getState().selectDrive('loop0');
  await stores.flash.getState().startFlash();
  const state = stores.flash.getState();
  assert.equal(state.jobId, 'job-mine');
  assert.equal(state.status, 'flashing', 'the other flash’s end is not ours');
  assert.equal(state.progress?.percent, 7, 'our own early report is kept');
});

test('a start refused while another tab’s flash reports ends in the refusal, not in that flash', async () => {
  const { stores, startElsewhere } = setup();
  await settle();
  startElsewhere();
  await stores.image.getState().openPath('/images/mine.img');
  stores.drives.getState().selectDrive('loop0');
  // The other flash's progress arrives while our flash.start is being refused.
  const started = stores.flash.getState().startFlash();
  stores.flash.getState().onProgress({ jobId: 'job-other', progress: OTHER.progress! });
  await started;
  const { status, jobId, error } = stores.flash.getState();
  assert.equal(status, 'failed');
  assert.equal(jobId, null);
  assert.equal(error?.code, 'TARGET_BUSY');
  assert.equal(error?.details?.otherJob, 'job-other');
});
