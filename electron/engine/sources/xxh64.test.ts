import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Xxh64 } from './xxh64';

test('XXH64 (seed 0) matches the published vectors', () => {
  assert.equal(new Xxh64().hex(), 'ef46db3751d8e999');
  assert.equal(new Xxh64().update(Buffer.from('a')).hex(), 'd24ec4f1a98c6e5b');
  assert.equal(new Xxh64().update(Buffer.from('abc')).hex(), '44bc2cf5ad770999');
});

test('XXH64 fed in odd pieces equals XXH64 fed at once', () => {
  const data = randomBytes(10_007);
  const pieces = new Xxh64();
  for (let at = 0, n = 1; at < data.length; at += n, n = (n * 7 + 3) % 97) pieces.update(data.subarray(at, at + n));
  assert.equal(pieces.hex(), new Xxh64().update(data).hex());
});

test("XXH64's low half equals the checksum zstd writes, for every length class", () => {
  for (const size of [0, 1, 3, 4, 7, 8, 15, 31, 32, 33, 63, 64, 100, 1000, 65_537, 3_000_001]) {
    const data = randomBytes(size);
    const frame = execFileSync('zstd', ['-q', '-c', '--check'], { input: data, maxBuffer: 1 << 26 });
    assert.equal(new Xxh64().update(data).digest()[1], frame.readUInt32LE(frame.length - 4), `size ${size}`);
  }
});
