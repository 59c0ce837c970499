// The hand-assembled in-place XXH64 must equal the reference (xxhash-wasm) for every tail length
// (the 32-byte stripes, then 8-, 4- and 1-byte steps), at odd addresses, and on a whole chunk.

import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { test } from 'node:test';
import { hashInPlaceFrom, xxh64InPlace } from './xxh64-in-place';

test('in-place XXH64 equals xxhash-wasm on every length and alignment', async () => {
  const xxhash = (require('xxhash-wasm') as () => Promise<{ h64Raw(data: Uint8Array, seed?: bigint): bigint }>)();
  const reference = await xxhash;
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true }); // 4 MiB
  assert.equal(hashInPlaceFrom(memory), true);
  const bytes = new Uint8Array(memory.buffer);
  randomFillSync(bytes);
  for (let length = 0; length <= 200; length++) {
    for (const at of [0, 1, 3, 4096 + 7]) {
      const view = bytes.subarray(at, at + length);
      assert.equal(xxh64InPlace(view), reference.h64Raw(Uint8Array.from(view)), `length ${length} at ${at}`);
    }
  }
  const chunk = bytes.subarray(4096, 4096 + 2 * 1024 * 1024);
  assert.equal(xxh64InPlace(chunk), reference.h64Raw(Uint8Array.from(chunk)));
  const zeros = new Uint8Array(memory.buffer, 3 * 1024 * 1024, 65536);
  zeros.fill(0);
  assert.equal(xxh64InPlace(zeros), reference.h64Raw(new Uint8Array(65536)));
});

test('bytes outside a registered memory are not hashed in place', () => {
  assert.equal(xxh64InPlace(new Uint8Array(64)), undefined);
  const unshared = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  assert.equal(hashInPlaceFrom(unshared), false, 'only shared memories can be imported');
});
