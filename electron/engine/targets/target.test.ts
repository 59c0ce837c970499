// Opening targets that are not drives: image files to be created.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import { openTarget } from './target';

test('an image file in a missing folder names the folder, not an unplugged drive', async () => {
  const target = '/nonexistent-blockwise-dir/out.img';
  await assert.rejects(openTarget(target, { allowCreateFile: true }), (error: unknown) => {
    assert.ok(error instanceof BlockwiseError);
    assert.equal(error.code, 'TARGET_NOT_FOUND');
    assert.match(error.message, /the folder \/nonexistent-blockwise-dir does not exist/);
    assert.doesNotMatch(error.message, /unplugged/);
    return true;
  });
});
