// Numbers as the app prints them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFormats, formatBytes, formatDuration, formatEta, formatPercent, formatSpeed } from './format';

test('sizes use the decimal units printed on drive labels', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(16_000_000_000), '16.0 GB');
  assert.equal(formatBytes(64 * 1024 * 1024), '67.1 MB');
  assert.equal(formatBytes(512_000_000), '512 MB');
  assert.equal(formatBytes(-1), '—');
});

test('speeds, durations and time left read naturally', () => {
  assert.equal(formatSpeed(0), '— MB/s');
  assert.equal(formatSpeed(21_400_000), '21.4 MB/s');
  assert.equal(formatSpeed(187_400_000), '187 MB/s');
  assert.equal(formatDuration(0.35), '0.3 s');
  assert.equal(formatDuration(42), '42 s');
  assert.equal(formatDuration(75), '1 min 15 s');
  assert.equal(formatDuration(120), '2 min');
  assert.equal(formatDuration(3725), '1 h 2 min');
  assert.equal(formatEta(undefined), 'estimating…');
  assert.equal(formatEta(0.2), 'almost done');
  assert.equal(formatEta(14), '14 s left');
});

test('percent never shows 100 before the end, and formats are named', () => {
  assert.equal(formatPercent(99.97), '99%');
  assert.equal(formatPercent(100), '100%');
  assert.equal(formatPercent(undefined), '0%');
  assert.equal(describeFormats(['xz']), 'XZ-compressed image');
  assert.equal(describeFormats(['zip', 'raw']), 'ZIP archive');
  assert.equal(describeFormats(['raw']), 'Raw disk image');
  assert.equal(describeFormats(['tar']), 'TAR archive');
  assert.equal(describeFormats(['xz', 'tar']), 'XZ-compressed TAR archive');
});
