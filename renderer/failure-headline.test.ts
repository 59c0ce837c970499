// What a failed flash is said to mean: a drive that filled up early is suspect, not too small, and
// "Try again" is offered only where trying again could work.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeError, ERROR_ADVICE, type SerializedError } from '../shared/errors';
import { explainFailure, isRetryable } from './failure-headline';

const stick = { path: '/dev/sdb', model: 'Generic Flash Disk', size: 64_000_000_000 };

function full(offset: number): SerializedError {
  return {
    code: 'IMAGE_TOO_LARGE',
    message: `/dev/sdb is full at byte ${offset}: the image does not fit.`,
    details: { path: '/dev/sdb', offset, syscode: 'ENOSPC', driveIncomplete: true },
  };
}

test('a drive full far below the capacity it claims may be counterfeit; it is not "too small"', () => {
  const said = explainFailure(full(7_948_206_080), stick, 4_000_000_000);
  assert.equal(said.headline, 'The drive filled up early');
  assert.equal(
    said.message,
    'Generic Flash Disk (/dev/sdb) stopped taking data at 7.9 GB (7,948,206,080 bytes), although it claims to hold 64.0 GB (64,000,000,000 bytes).',
  );
  assert.match(said.advice, /counterfeit .* or it is failing/);
  assert.doesNotMatch(said.advice, /larger drive/);
  assert.equal(said.retryable, false);
});

test('a drive that is really smaller than the image keeps "Use a larger drive"', () => {
  // Full at its own end…
  const atEnd = explainFailure(full(stick.size), stick, undefined);
  assert.equal(atEnd.advice, 'Use a larger drive.');
  assert.equal(atEnd.message, 'Generic Flash Disk (/dev/sdb) holds 64.0 GB (64,000,000,000 bytes), and the image goes on past that.');
  // …or the image is bigger than the drive claims anyway.
  assert.equal(explainFailure(full(1_000_000), stick, 80_000_000_000).advice, 'Use a larger drive.');
  // The drive is not known: nothing to compare with.
  assert.equal(explainFailure(full(1_000_000), undefined, undefined).advice, 'Use a larger drive.');
});

test('"Try again" only where another try could work', () => {
  for (const code of ['WRITE_IO_ERROR', 'READ_IO_ERROR', 'VERIFY_MISMATCH', 'DOWNLOAD_FAILED', 'TARGET_BUSY', 'TARGET_READ_ONLY', 'INTERNAL'] as const) {
    assert.equal(isRetryable(code), true, code);
  }
  for (const code of ['IMAGE_TOO_LARGE', 'SOURCE_CORRUPT', 'SOURCE_TRUNCATED', 'CHECKSUM_MISMATCH', 'SOURCE_ON_TARGET', 'SYSTEM_DRIVE', 'TARGET_NOT_FOUND'] as const) {
    assert.equal(isRetryable(code), false, code);
  }
});

test('an I/O error ending in the system\'s words gets its full stop', () => {
  const said = explainFailure({ code: 'WRITE_IO_ERROR', message: 'Writing /dev/sdb failed at byte 512: EIO: i/o error, write' }, stick, undefined);
  assert.equal(said.message, 'Writing /dev/sdb failed at byte 512: EIO: i/o error, write.');
  assert.equal(said.headline, 'The drive failed to write');
});

test('a drive busy with another flash or a capacity check is advised to wait, not to close programs and unmount', () => {
  const busy = (busyWith?: string): SerializedError => ({ code: 'TARGET_BUSY', message: '/dev/sdx is being checked for fake capacity.', details: { path: '/dev/sdx', ...(busyWith ? { busyWith } : {}) } });
  assert.equal(explainFailure(busy('check'), undefined, undefined).advice, 'Wait for it to finish, then try again.');
  assert.equal(explainFailure(busy('flash'), undefined, undefined).advice, 'Wait for it to finish, then try again.');
  assert.equal(explainFailure(busy(), undefined, undefined).advice, ERROR_ADVICE.TARGET_BUSY, 'held by another program: close it and unmount');
  assert.equal(describeError(busy('check')), '/dev/sdx is being checked for fake capacity. Wait for it to finish, then try again.');
});

test('an image its own disk could not read (EIO) gets no "check that the image file exists" in the app: its message says what to do', () => {
  const message = 'Could not read /media/usb/os.img at byte 2999808 (EIO: i/o error, read): the disk, card or share that holds it failed to read there';
  const eio: SerializedError = { code: 'SOURCE_UNREADABLE', message, details: { path: '/media/usb/os.img', offset: 2999808, syscode: 'EIO' } };
  assert.equal(explainFailure(eio, stick, undefined).advice, '');
  assert.equal(describeError(eio), `${message}.`);
  // Another reason to be unreadable keeps the table's advice.
  assert.equal(explainFailure({ code: 'SOURCE_UNREADABLE', message: 'Cannot open image /x.img: permission denied.', details: { syscode: 'EACCES' } }, stick, undefined).advice, ERROR_ADVICE.SOURCE_UNREADABLE);
});
