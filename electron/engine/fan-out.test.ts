// One source, several drives, one runFlash: every drive gets the exact bytes and its own
// verification; a failing drive is dropped with its own error while the others finish; a slow
// drive sets the pace without memory piling up for it (the pool is the only buffer).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FlashJob, FlashProgress } from '../../shared/flash-types';
import { createFaultyDrive, fuseSkipReason, type FaultyDrive } from '../test-support/fuse-faults';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { CHUNK_SIZE, POOL_CHUNKS, runFlash } from './flash';
import './sources/register';

const MiB = 1024 * 1024;
const skip = loopSkipReason();
if (skip) console.log(`# skipping fan-out tests: ${skip}`);
const fuseSkip = fuseSkipReason();
if (!skip && fuseSkip) console.log(`# skipping the faulty-drive fan-out test: ${fuseSkip}`);
const THROTTLE = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';
const throttleSkip = skip ?? (existsSync(THROTTLE) ? undefined : `no blkio throttle at ${THROTTLE} (cgroup v1 blkio controller)`);
if (!skip && throttleSkip) console.log(`# skipping the slow-drive fan-out test: ${throttleSkip}`);

let workDir = '';

function makeImage(name: string, size: number): { file: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  bytes.fill(0, Math.floor(size / 4), Math.floor(size / 2));
  const file = path.join(workDir, name);
  writeFileSync(file, bytes);
  return { file, bytes };
}

function job(image: string, targets: string[]): FlashJob {
  return { source: { kind: 'file', path: image }, targets: targets.map((p) => ({ path: p })), options: { verify: true, full: true } };
}

describe('one image to several drives', { skip }, () => {
  const devices: Array<LoopDevice | FaultyDrive> = [];
  const loop = (size: number) => {
    const d = createLoopDevice(size, { fill: 'garbage' });
    devices.push(d);
    return d;
  };

  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    workDir = mkdtempSync('/dev/shm/blockwise-fan-out-test-');
  });
  after(() => {
    for (const d of devices) d.dispose();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('three drives in one run: each byte-exact and verified', async () => {
    const drives = [loop(48 * MiB), loop(48 * MiB), loop(64 * MiB)];
    const { file, bytes } = makeImage('three.img', 40 * MiB + 4096);
    const result = await runFlash(job(file, drives.map((d) => d.path)), { signal: new AbortController().signal, onProgress: () => {} });
    assert.equal(result.targets.length, 3);
    for (const [i, d] of drives.entries()) {
      const t = result.targets[i]!;
      assert.equal(t.path, d.path);
      assert.ok(t.ok && t.verified, `${d.path}: ${t.error?.message}`);
      assert.equal(t.bytesWritten, bytes.length);
      assert.ok(readBacking(d, 0, bytes.length).equals(bytes), `${d.path} holds the image`);
    }
  });

  test('a failing drive gets its own error; the other two finish and verify', { skip: fuseSkip }, async () => {
    const bad: [number, number] = [12 * MiB, 12 * MiB + 65536];
    const faulty = await createFaultyDrive({ size: 48 * MiB, eioWrite: [bad] });
    devices.push(faulty);
    const good = [loop(48 * MiB), loop(48 * MiB)];
    const { file, bytes } = makeImage('one-bad.img', 32 * MiB);
    const paths = [good[0]!.path, faulty.path, good[1]!.path];
    const result = await runFlash(job(file, paths), { signal: new AbortController().signal, onProgress: () => {} });
    const failed = result.targets[1]!;
    assert.equal(failed.ok, false);
    assert.equal(failed.verified, false);
    assert.equal(failed.error?.code, 'WRITE_IO_ERROR', failed.error?.message);
    assert.equal(failed.error?.details?.path, faulty.path);
    assert.equal(failed.error?.details?.driveIncomplete, true);
    const offset = failed.error?.details?.offset;
    assert.ok(typeof offset === 'number' && offset >= bad[0] && offset < bad[1], `offset ${offset}`);
    for (const i of [0, 2]) {
      const t = result.targets[i]!;
      assert.ok(t.ok && t.verified, `${t.path}: ${t.error?.message}`);
      assert.equal(t.error, undefined);
    }
    for (const d of good) assert.ok(readBacking(d, 0, bytes.length).equals(bytes), `${d.path} holds the image`);
  });

  test('a slow drive sets the pace: all finish, and the fast ones never run ahead of the pool', { skip: throttleSkip }, async () => {
    const slow = loop(160 * MiB);
    const fast = [loop(160 * MiB), loop(160 * MiB)];
    const { file, bytes } = makeImage('slow.img', 128 * MiB);
    execFileSync('sh', ['-c', `echo "${slow.majMin} ${25_000_000}" > ${THROTTLE}`]);
    let maxLead = 0;
    let peakRss = 0;
    const rssBefore = process.memoryUsage().rss;
    try {
      const onProgress = (p: FlashProgress) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (p.phase !== 'writing') return;
        const slowWritten = p.targets[0]!.bytesWritten;
        for (const t of p.targets.slice(1)) maxLead = Math.max(maxLead, t.bytesWritten - slowWritten);
      };
      const result = await runFlash(job(file, [slow.path, ...fast.map((d) => d.path)]), { signal: new AbortController().signal, onProgress });
      for (const t of result.targets) assert.ok(t.ok && t.verified, `${t.path}: ${t.error?.message}`);
    } finally {
      execFileSync('sh', ['-c', `echo "${slow.majMin} 0" > ${THROTTLE}`]);
    }
    for (const d of [slow, ...fast]) assert.ok(readBacking(d, 0, bytes.length).equals(bytes), `${d.path} holds the image`);
    // The fast drives can only be ahead by what the pool holds; nothing else buffers for the slow one.
    const poolBytes = POOL_CHUNKS * CHUNK_SIZE;
    assert.ok(maxLead <= poolBytes, `fast drives ran ${maxLead} bytes ahead; the pool holds ${poolBytes}`);
    assert.ok(maxLead > 0, 'the throttled drive should have lagged behind at some point');
    // Loosely: memory grew by about the pool, not by the image (128 MiB).
    const growth = peakRss - rssBefore;
    assert.ok(growth < poolBytes + 48 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB during a 128 MiB flash`);
  });
});
