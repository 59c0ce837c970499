// The BlockwiseError a promise rejects with, for tests that go on to look at it; a promise that
// resolves, or rejects with anything else, fails the test.

import assert from 'node:assert/strict';
import { BlockwiseError } from '../../shared/errors';

/** `expected`: what should have happened, said when it did not. */
export async function blockwiseFailure(promise: Promise<unknown>, expected: string): Promise<BlockwiseError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, String(error));
    return error;
  }
  assert.fail(expected);
}
