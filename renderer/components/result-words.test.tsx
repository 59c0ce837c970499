// What the results say: what a cancel leaves behind, in the question before it and in the view
// after it (the phase decides: a readback cancelled leaves drives written whole; several drives are
// spoken of as several), and which image was written out of an archive. Views are rendered to
// markup, as the person would read them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderToStaticMarkup } from 'react-dom/server';
import type { SerializedError } from '../../shared/errors';
import type { FlashPhase } from '../../shared/flash-types';
import { drive } from '../store/test-drives';
import { cancelWarning } from './cancel-confirm-dialog';
import { FailureView } from './failure-view';
import { flashedName } from './result-view';

const TWO = [drive({ id: 'loop0' }), drive({ id: 'loop1' })];
const CANCELLED: SerializedError = { code: 'CANCELLED', message: 'Cancelled.', details: { driveIncomplete: true } };

function cancelledView(phase: FlashPhase, targets = TWO, options: { entry?: string; error?: SerializedError } = {}): string {
  const html = renderToStaticMarkup(
    <FailureView
      kind="cancelled"
      error={options.error ?? CANCELLED}
      targets={targets}
      results={[]}
      phase={phase}
      imageSize={4096}
      imageLocation="/images/two.zip"
      imageEntry={options.entry}
      onRetry={() => undefined}
      onBack={() => undefined}
    />,
  );
  return html.replace(/<[^>]+>/g, ' ').replace(/&#x27;/g, "'").replace(/\s+/g, ' ');
}

test('the cancel question does not call a drive being read back half-written', () => {
  assert.doesNotMatch(cancelWarning('verifying', 1), /half-written|will not work/);
  assert.match(cancelWarning('verifying', 1), /already written.*will not be verified/);
  assert.match(cancelWarning('writing', 1), /^The drive will be left half-written/);
  assert.match(cancelWarning(undefined, 1), /half-written/);
});

test('the cancel question speaks of every drive of a flash to several', () => {
  assert.equal(cancelWarning('writing', 2), 'The 2 drives will be left half-written and will not work until you flash them again.');
  assert.match(cancelWarning('verifying', 3), /^The 3 drives are already written: .* reads them back, so they will not be verified\.$/);
});

test('a cancelled flash to several drives says they are all incomplete, or all untouched', () => {
  const written = cancelledView('writing');
  assert.match(written, /The drives’ contents are now incomplete and they will not boot until they are flashed again\./);
  assert.match(written, /Flash the drives again before using them\./);
  assert.doesNotMatch(written, /The drive’s|the drive again/);

  const untouched = cancelledView('starting', TWO, { error: { ...CANCELLED, details: { driveIncomplete: false } } });
  assert.match(untouched, /Nothing was written to the drives: they are as they were\./);

  const one = cancelledView('writing', [drive({ id: 'loop0' })]);
  assert.match(one, /The drive’s contents are now incomplete and it will not boot until it is flashed again\./);
});

test('a readback cancelled on several drives gives the command that checks each, naming the image in the archive', () => {
  const text = cancelledView('verifying', TWO, { entry: 'a.img' });
  assert.match(text, /They will probably work\. To be sure they hold the image/);
  assert.match(text, /blockwise verify \/images\/two\.zip --entry a\.img --against \/dev\/loop0 blockwise verify \/images\/two\.zip --entry a\.img --against \/dev\/loop1/);
  assert.doesNotMatch(text, /DEVICE/);

  const single = cancelledView('verifying', [drive({ id: 'loop0' })]);
  assert.match(single, /It will probably work\..* blockwise verify \/images\/two\.zip --against \/dev\/loop0 /);
});

test('the result names the image chosen inside an archive, not only the archive', () => {
  assert.equal(flashedName({ path: '/images/pack.zip', name: 'pack.zip', storedSize: 1, formats: ['zip'], entries: ['a.img', 'b.img'], entry: 'b.img' }), 'b.img from pack.zip');
  assert.equal(flashedName({ path: '/images/os.img.xz', name: 'os.img.xz', storedSize: 1, formats: ['xz'] }), 'os.img.xz');
  assert.equal(flashedName(null), 'The image');
});

test('a refusal whose message already says what to do with the file gets no empty "What to do next"', () => {
  const render = (error: SerializedError) =>
    renderToStaticMarkup(
      <FailureView kind="failed" error={error} targets={TWO.slice(0, 1)} results={[]} phase={undefined} imageSize={4096} imageLocation="/images/os.7z" onRetry={() => undefined} onBack={() => undefined} />,
    );
  const advised = render({ code: 'SOURCE_UNSUPPORTED', message: 'os.7z is a 7-Zip archive, which Blockwise cannot write. Extract the image from it (7z x "os.7z"), then open that.', details: { advised: true } });
  assert.match(advised, /7z x/);
  assert.doesNotMatch(advised, /What to do next/);
  const general = render({ code: 'SOURCE_UNSUPPORTED', message: 'tool.rpm is an RPM package, which Blockwise cannot write.' });
  assert.match(general, /What to do next: <\/strong>Blockwise writes raw disk images/);
});
