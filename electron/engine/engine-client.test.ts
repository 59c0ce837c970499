// The engine's worker, stuck: an image on a share that stopped answering holds the worker's thread
// in a read (a FUSE file whose reads hang stands in for the share). A cancel must still end the job.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import { createFaultyDrive, fuseSkipReason } from '../test-support/fuse-faults';
import { EngineClient, workerTransport } from './engine-client';
import type { EngineEvent, EngineTransport } from './protocol';

const skip = fuseSkipReason();
if (skip) console.log(`# skipping the stuck-engine test: ${skip}`);

describe('a cancelled job whose engine never answers', { skip }, () => {
  const dir = mkdtempSync('/dev/shm/blockwise-engine-client-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('ends as CANCELLED, saying the engine did not stop, within the time given and not when the read returns', async () => {
    const release = path.join(dir, 'release');
    // Reads of the served file's first MiB hang (for 120 s at most): the image is that file.
    const share = await createFaultyDrive({ size: 8 << 20, stallRead: [[0, 1 << 20]], stallUntil: release });
    const image = path.join(path.dirname(share.store), 'mnt', 'disk');
    const client = new EngineClient(workerTransport(), { cancelAnswerMs: 3000 });
    try {
      const job = client.flash({ source: { kind: 'file', path: image }, targets: [{ path: path.join(dir, 'out.img'), createFile: true }], options: { verify: true, full: true } });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const cancelledAt = performance.now();
      job.cancel();
      const error = await job.result.then(
        () => assert.fail('a cancelled flash reported success'),
        (e: unknown) => e,
      );
      const took = (performance.now() - cancelledAt) / 1000;
      assert.ok(error instanceof BlockwiseError, String(error));
      assert.equal(error.code, 'CANCELLED', error.message);
      assert.match(error.message, /the engine did not stop within 3 s: it is waiting on the image or a drive that does not answer/);
      assert.equal(error.details.unresponsive, true);
      assert.ok(took > 2.5 && took < 15, `ended ${took.toFixed(1)} s after the cancel`);
    } finally {
      writeFileSync(release, '');
      await client.close();
      share.dispose();
    }
  });
});

test('an engine that never answers a cancel: the drive its progress said was silent is named, to be unplugged', async () => {
  // A transport whose engine sends one progress event, then nothing, whatever it is asked.
  let listener: (event: EngineEvent) => void = () => undefined;
  const transport: EngineTransport = {
    send: () => undefined,
    onEvent: (l) => (listener = l),
    onExit: () => undefined,
    close: async () => undefined,
  };
  const client = new EngineClient(transport, { cancelAnswerMs: 1000 });
  const keepAlive = setTimeout(() => undefined, 10_000); // the client's own timer does not hold the process
  const job = client.flash({ source: { kind: 'file', path: '/img' }, targets: [{ path: '/dev/sdx' }, { path: '/dev/sdy' }], options: { verify: true, full: false } });
  const target = (path: string, stalledSeconds?: number) => ({ path, phase: 'writing' as const, position: 0, bytesWritten: 0, bytesVerified: 0, ...(stalledSeconds ? { stalledSeconds } : {}) });
  listener({ type: 'progress', id: job.id, progress: { phase: 'writing', position: 0, speed: 0, effectiveSpeed: 0, targets: [target('/dev/sdx', 12), target('/dev/sdy')] } });
  job.cancel();
  const error = await job.result
    .then(
      () => assert.fail('a cancelled flash reported success'),
      (e: unknown) => e,
    )
    .finally(() => clearTimeout(keepAlive));
  assert.ok(error instanceof BlockwiseError);
  assert.equal(error.code, 'CANCELLED');
  assert.equal(
    error.message,
    'The flash was cancelled, but the engine did not stop within 1 s. /dev/sdx is not responding and still has a write pending: unplug it; it is incomplete, so flash it again before using it.',
  );
  assert.equal(error.details.path, '/dev/sdx');
  assert.equal(error.details.unresponsive, true);
});

test('a backup or a capacity check whose engine never answers a cancel is not said to have left a drive incomplete', async () => {
  const transport: EngineTransport = { send: () => undefined, onEvent: () => undefined, onExit: () => undefined, close: async () => undefined };
  const client = new EngineClient(transport, { cancelAnswerMs: 500 });
  const keepAlive = setTimeout(() => undefined, 10_000);
  try {
    const backup = client.backup({ device: '/dev/sdx', output: '/tmp/x.img.gz', verify: true });
    const check = client.check('/dev/sdy');
    backup.cancel();
    check.cancel();
    const [b, c] = await Promise.all([backup.result.then(() => assert.fail('success'), (e: unknown) => e), check.result.then(() => assert.fail('success'), (e: unknown) => e)]);
    assert.ok(b instanceof BlockwiseError && c instanceof BlockwiseError);
    assert.match(b.message, /^The backup was cancelled, but the engine did not stop within 1 s: it is waiting on a drive that does not answer\. Unplug the drive\. The drive was only read/);
    assert.equal(b.details.driveIncomplete, undefined);
    assert.match(c.message, /^The capacity check was cancelled, .* Some of its test blocks may still be on it/);
    assert.doesNotMatch(`${b.message} ${c.message}`, /flash/);
  } finally {
    clearTimeout(keepAlive);
  }
});

test('a verify whose engine never answers a cancel says nothing was written, not that drives are incomplete', async () => {
  const transport: EngineTransport = { send: () => undefined, onEvent: () => undefined, onExit: () => undefined, close: async () => undefined };
  const client = new EngineClient(transport, { cancelAnswerMs: 500 });
  const keepAlive = setTimeout(() => undefined, 10_000);
  try {
    const job = client.verify({ source: { kind: 'file', path: '/img' }, target: { path: '/dev/sdx' } });
    job.cancel();
    const error = await job.result.then(() => assert.fail('success'), (e: unknown) => e);
    assert.ok(error instanceof BlockwiseError);
    assert.match(error.message, /^Verification was cancelled, but the engine did not stop within 1 s\. It is waiting on the image or a drive that does not answer .* Nothing was written to it\.$/);
    assert.equal(error.details.driveIncomplete, false);
    assert.doesNotMatch(error.message, /flash/);
  } finally {
    clearTimeout(keepAlive);
  }
});
