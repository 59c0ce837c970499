// ProgressMeter with an injected clock: rate limiting, phase changes, no start-up spikes in speed
// or ETA, and percent that follows the position it is given.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlashProgress } from '../../shared/flash-types';
import { ProgressMeter, WARMUP_MS, type MeterSample } from './progress-meter';

const MB = 1e6;

function meter(): { m: ProgressMeter; out: FlashProgress[]; at: (ms: number) => void } {
  let now = 0;
  const out: FlashProgress[] = [];
  const m = new ProgressMeter((p) => out.push(p), () => now);
  return { m, out, at: (ms) => (now = ms) };
}

function writing(position: number, deviceBytes = position, total = 1000 * MB): MeterSample {
  return { phase: 'writing', position, total, deviceBytes, targets: [] };
}

test('at most one message per 100 ms, but every phase change and forced sample goes out', () => {
  const { m, out, at } = meter();
  at(0);
  m.update(writing(0));
  for (let t = 1; t < 100; t += 10) {
    at(t);
    m.update(writing(t * MB));
  }
  assert.equal(out.length, 1, 'only the first sample of the phase within the first 100 ms');
  at(120);
  m.update(writing(120 * MB));
  assert.equal(out.length, 2);
  at(121);
  m.update(writing(121 * MB), true);
  assert.equal(out.length, 3, 'forced');
  at(122);
  m.update({ phase: 'finishing', position: 1000 * MB, total: 1000 * MB, deviceBytes: 1000 * MB, targets: [] });
  assert.equal(out.length, 4, 'phase change');
  assert.equal(out[3]!.phase, 'finishing');
  assert.equal(out[3]!.speed, 0, 'a new phase starts without the old speed');
});

test('a burst in the first 100 ms does not become the speed: the start-up speed is the average since the phase began', () => {
  const { m, out, at } = meter();
  at(0);
  m.update(writing(0));
  // 200 MB in the first 100 ms (skipped ranges, a drive cache), then a steady 20 MB/s.
  at(100);
  m.update(writing(200 * MB, 2 * MB));
  for (let t = 200; t <= 10_000; t += 100) {
    at(t);
    const steady = ((t - 100) / 1000) * 20 * MB;
    m.update(writing(200 * MB + steady, 2 * MB + steady));
  }
  const speeds = out.map((p) => p.effectiveSpeed);
  // With the old "seed the average with the first sample" rule this started at 2000 MB/s.
  const atOneSecond = out.find((p) => p.position >= 200 * MB + 18 * MB)!;
  assert.ok(atOneSecond.effectiveSpeed < 250 * MB, `effective speed after ~1 s: ${atOneSecond.effectiveSpeed / MB} MB/s`);
  const last = out.at(-1)!;
  assert.ok(Math.abs(last.effectiveSpeed - 20 * MB) < 6 * MB, `settles near 20 MB/s, got ${last.effectiveSpeed / MB}`);
  assert.ok(Math.abs(last.speed - 20 * MB) < 6 * MB, `device speed settles near 20 MB/s, got ${last.speed / MB}`);
  assert.ok(speeds.every((s) => s >= 0 && Number.isFinite(s)));
});

test('no ETA before the warm-up, then one that matches the steady rate', () => {
  const { m, out, at } = meter();
  const total = 1000 * MB;
  at(0);
  m.update(writing(0, 0, total));
  for (let t = 100; t <= 6000; t += 100) {
    at(t);
    m.update(writing((t / 1000) * 50 * MB, (t / 1000) * 50 * MB, total));
  }
  const early = out.filter((p) => p.position < (WARMUP_MS / 1000) * 50 * MB);
  assert.ok(early.length > 5);
  assert.ok(early.every((p) => p.eta === undefined), 'no ETA during the warm-up');
  const last = out.at(-1)!;
  // 300 MB done at 50 MB/s: 14 s left.
  assert.ok(last.eta !== undefined && Math.abs(last.eta - 14) < 1, `eta ${last.eta}`);
  assert.ok(Math.abs(last.percent! - 30) < 0.01);
});

test('percent follows position, from the stored position when the total is unknown, and is 100 when done', () => {
  const { m, out, at } = meter();
  at(0);
  m.update({ phase: 'writing', position: 10 * MB, deviceBytes: 10 * MB, sourcePosition: 25, sourceTotal: 100, targets: [] });
  assert.equal(out.at(-1)!.percent, 25);
  assert.equal(out.at(-1)!.eta, undefined, 'no ETA without a known total');
  at(500);
  m.update({ phase: 'done', position: 40 * MB, total: 40 * MB, deviceBytes: 0, targets: [] });
  assert.equal(out.at(-1)!.percent, 100);
});

test('speeds never go negative when a phase restarts its counters', () => {
  const { m, out, at } = meter();
  at(0);
  m.update({ phase: 'verifying', position: 0, total: 100 * MB, deviceBytes: 0, targets: [] });
  at(3000);
  m.update({ phase: 'verifying', position: 60 * MB, total: 100 * MB, deviceBytes: 60 * MB, targets: [] });
  at(3200);
  m.update({ phase: 'verifying', position: 50 * MB, total: 100 * MB, deviceBytes: 50 * MB, targets: [] });
  assert.ok(out.every((p) => p.speed >= 0 && p.effectiveSpeed >= 0));
});

test('a drive that stopped answering: the last figures go out again with it named, speed falling, and no ETA', () => {
  const { m, out, at } = meter();
  at(0);
  m.update(writing(0));
  for (let t = 100; t <= 4000; t += 100) {
    at(t);
    m.update(writing((t / 1000) * 50 * MB));
  }
  const before = out.at(-1)!;
  assert.ok(before.eta !== undefined);
  for (let t = 5000; t <= 8000; t += 1000) {
    at(t);
    m.refresh([{ path: '/dev/sdb', phase: 'writing', position: 200 * MB, bytesWritten: 200 * MB, bytesVerified: 0, stalledSeconds: (t - 4000) / 1000 }]);
  }
  const silent = out.slice(out.indexOf(before) + 1);
  assert.equal(silent.length, 4, 'one message per refresh');
  assert.deepEqual(silent.map((p) => p.targets[0]!.stalledSeconds), [1, 2, 3, 4]);
  assert.ok(silent.every((p) => p.eta === undefined && p.position === before.position), 'no estimate, no movement');
  assert.ok(silent.at(-1)!.speed < before.speed / 2, `speed falls while nothing moves: ${silent.at(-1)!.speed}`);
});
