// The flash summary's SHA-256 lines: one that could not be taken after the drive was written is
// said so with its reason, and the summary still reads as the success it is.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlashResult } from '../../shared/flash-types';
import { cliAdvice, nameSilentDrives, printFlashSummary } from './report';

function summary(result: FlashResult, verify: boolean): string {
  const written: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    printFlashSummary(result, verify);
  } finally {
    process.stderr.write = original;
  }
  return written.join('');
}

const BASE: FlashResult = { imageSize: 4096, mappedBytes: 4096, durationMs: 1000, writeMs: 800, verifyMs: 200, targets: [{ path: '/dev/sdz', ok: true, bytesWritten: 4096, verified: true }] };

test('a SHA-256 that could not be taken is named with its reason, and the flash still ends in Done', () => {
  const out = summary({ ...BASE, sha256Unavailable: 'Could not read /x/os.img to compute its SHA-256 (gone).' }, true);
  assert.match(out, /^SHA-256 not shown: Could not read \/x\/os\.img to compute its SHA-256 \(gone\)\. The drive itself was written and checked\.$/m);
  assert.doesNotMatch(out, /Error/);
  const unverified = summary({ ...BASE, targets: [{ ...BASE.targets[0]!, verified: false }], sha256Unavailable: 'Why.' }, false);
  assert.match(unverified, /The drive itself was written\.$/m);
  assert.doesNotMatch(summary({ ...BASE, imageSha256: 'ab'.repeat(32) }, true), /not shown/);
});

test('drives named silent after a cancel are called incomplete only where a write may have been cut short', () => {
  const plain = { code: 'CANCELLED' as const, message: 'The flash was cancelled.', details: {} };
  const reading = nameSilentDrives(plain, [{ path: '/dev/sdx', reading: true }], ['/dev/sdx']);
  assert.match(reading.message, /\/dev\/sdx is not responding and did not finish reading back/);
  assert.equal(reading.details?.driveIncomplete, false);
  const writing = nameSilentDrives(plain, [{ path: '/dev/sdx', reading: false }], ['/dev/sdx']);
  assert.equal(writing.details?.driveIncomplete, true);
  const withStopped = nameSilentDrives(plain, [{ path: '/dev/sdx', reading: true }], ['/dev/sdx', '/dev/sdy']);
  assert.match(withStopped.message, /\/dev\/sdy was stopped as well/);
  assert.equal(withStopped.details?.driveIncomplete, true);
});

test('a block map refused says how to go without it on the command line: --no-bmap', () => {
  const newer = { code: 'BMAP_INVALID' as const, message: '/x/a.bmap is in block map format 3.0, newer than this Blockwise reads (1.x and 2.x).', details: { path: '/x/a.bmap', newer: true } };
  assert.equal(cliAdvice(newer), 'Update Blockwise, or flash without the block map: add --no-bmap.');
  const damaged = { code: 'BMAP_INVALID' as const, message: '/x/a.bmap is not a valid block map: bad XML.', details: { path: '/x/a.bmap' } };
  assert.equal(cliAdvice(damaged), 'Delete it or download it again, or flash without it: add --no-bmap.');
});
