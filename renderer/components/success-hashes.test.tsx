// The success view's SHA-256 lines: a hash that could not be taken after the drive was written is
// said so with its reason, and the drive is still called written (and checked, when it was).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderToStaticMarkup } from 'react-dom/server';
import type { FlashResult } from '../../shared/flash-types';
import { drive } from '../store/test-drives';
import { SuccessView } from './success-view';

function text(result: FlashResult): string {
  const html = renderToStaticMarkup(<SuccessView result={result} imageName="os.img" downloaded={false} targets={[drive({ id: 'loop0' })]} onAgain={() => undefined} />);
  return html.replace(/<[^>]+>/g, ' ').replace(/&#x27;/g, "'").replace(/\s+/g, ' ');
}

const BASE: FlashResult = { imageSize: 4096, mappedBytes: 4096, durationMs: 1000, writeMs: 800, verifyMs: 200, targets: [{ path: '/dev/loop0', ok: true, bytesWritten: 4096, verified: true }] };

test('a SHA-256 that could not be taken is said so, with why, and the drive is still written and checked', () => {
  const shown = text({ ...BASE, sha256Unavailable: 'Could not read /images/os.img to compute its SHA-256 (the file ended at byte 1048576).' });
  assert.match(shown, /No SHA-256 to show: Could not read \/images\/os\.img to compute its SHA-256 \(the file ended at byte 1048576\)\. The drive itself was written and checked\./);
  assert.match(shown, /Flash complete!/);
  assert.doesNotMatch(text({ ...BASE, imageSha256: 'ab'.repeat(32) }), /No SHA-256 to show/);
});

test('"Eject when done": an ejected drive is said safe to unplug; one that could not be ejected says so, with why', () => {
  const ejected = text({ ...BASE, targets: [{ ...BASE.targets[0]!, ejected: true }] });
  assert.match(ejected, /The drive was ejected: it is safe to unplug\./);
  const failed = text({
    ...BASE,
    targets: [{ ...BASE.targets[0]!, ejectError: 'The image was written, but /dev/loop0 could not be ejected (udisksctl: not authorized). Eject it from your desktop before unplugging.' }],
  });
  assert.match(failed, /could not be ejected \(udisksctl: not authorized\)\. Eject it from your desktop before unplugging\./);
  assert.doesNotMatch(failed, /safe to unplug/);
  assert.doesNotMatch(text(BASE), /eject/i);
});
