// Numbers as the app prints them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFormats, driveTitle, formatBytes, formatBytesExact, formatDuration, formatEta, formatPercent, formatSpeed } from './format';

test('sizes use the decimal units printed on drive labels', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(16_000_000_000), '16.0 GB');
  assert.equal(formatBytes(64 * 1024 * 1024), '67.1 MB');
  assert.equal(formatBytes(512_000_000), '512 MB');
  assert.equal(formatBytes(-1), '—');
});

test('speeds, durations and time left read naturally', () => {
  assert.equal(formatSpeed(0), '');
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

test('exact sizes add the byte count, grouped', () => {
  assert.equal(formatBytesExact(3_904_897_024), '3.9 GB (3,904,897,024 bytes)');
  assert.equal(formatBytesExact(512), '512 bytes');
  assert.equal(formatBytesExact(1), '1 byte');
});

test('a drive is named by its model, or by its size and device when the model is only a vendor id', () => {
  assert.equal(driveTitle({ model: 'SanDisk Ultra', path: '/dev/sdb', size: 32e9 }), 'SanDisk Ultra');
  assert.equal(driveTitle({ model: '0x1af4', path: '/dev/vda', size: 21_474_836_480 }), '21.5 GB drive');
  assert.equal(driveTitle({ model: '0x1af4 0x1001', path: '/dev/vda', size: 0 }), 'vda');
  assert.equal(driveTitle({ model: '  ', path: '/dev/sdc' }), 'sdc');
});
