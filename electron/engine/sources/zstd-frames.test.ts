import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import { checkedFzstdStream } from './zstd-frames';

const zstd = (data: Buffer, ...args: string[]) => execFileSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 1 << 26 });

async function decode(stored: Buffer, piece: number): Promise<Buffer> {
  async function* pieces() {
    for (let at = 0; at < stored.length; at += piece) yield stored.subarray(at, at + piece);
  }
  const out: Buffer[] = [];
  for await (const chunk of checkedFzstdStream(pieces())) out.push(Buffer.from(chunk));
  return Buffer.concat(out);
}

/** A skippable frame (what pzstd and seekable zstd add). */
const skippable = (size: number) => Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18]), Buffer.from(Uint32Array.of(size).buffer), randomBytes(size)]);

const random = randomBytes(300_000);
const text = Buffer.from('line of text\n'.repeat(20_000));

test('frames with and without checksums, empty frames and skippable frames decode, whatever the chunking', async () => {
  const stored = Buffer.concat([
    zstd(random),
    skippable(10),
    zstd(Buffer.alloc(0)),
    zstd(text, '--no-check'),
    skippable(0),
    zstd(Buffer.alloc(200_000), '-19'),
    zstd(random.subarray(0, 5)),
  ]);
  const expected = Buffer.concat([random, text, Buffer.alloc(200_000), random.subarray(0, 5)]);
  for (const piece of [1, 3, 4096, 1 << 20]) assert.ok((await decode(stored, piece)).equals(expected), `pieces of ${piece}`);
});

test("frames of every length class pass their checksums (XXH64's tail paths: 0–31 bytes, 8/4/1-byte steps)", async () => {
  const parts = [0, 1, 3, 4, 7, 8, 15, 31, 32, 33, 63, 64, 100, 65_537, 3_000_001].map((size) => randomBytes(size));
  const stored = Buffer.concat(parts.map((part) => zstd(part, '--check')));
  assert.ok((await decode(stored, 65536)).equals(Buffer.concat(parts)));
});

test('a damaged byte inside a stored block fails the checksum, naming the frame', async () => {
  const first = zstd(random.subarray(0, 100_000));
  const stored = Buffer.concat([first, zstd(random)]);
  const at = first.length + 50_000; // inside the second frame's raw (incompressible) data
  stored[at]! ^= 0x40;
  for (const piece of [7, 65536]) {
    await assert.rejects(decode(stored, piece), new RegExp(`zstd frame at byte ${first.length} fails its content checksum`));
  }
});

test('the same damage in a frame without a checksum goes unnoticed (nothing to check against)', async () => {
  const stored = zstd(random, '--no-check');
  stored[50_000]! ^= 0x40;
  const out = await decode(stored, 65536);
  assert.equal(out.length, random.length);
  assert.ok(!out.equals(random));
});

test('a stream cut anywhere ends in "unexpected end", never in success', async () => {
  const whole = Buffer.concat([zstd(text), zstd(random)]);
  for (const cut of [1, 3, 5, 20, 200, whole.length - 300_000, whole.length - 4, whole.length - 1]) {
    await assert.rejects(decode(whole.subarray(0, cut), 4096), /unexpected end/, `cut at ${cut}`);
  }
  await assert.rejects(decode(Buffer.alloc(0), 4096), /unexpected end/);
});

test('bytes that are not a zstd frame are refused', async () => {
  await assert.rejects(decode(Buffer.concat([zstd(text), Buffer.from('garbage!')]), 4096), /no frame starts at byte/);
});

test('a 2 GiB window (zstd --long=31 from a pipe) is refused by name; a 1 GiB one decodes', async () => {
  // From stdin zstd cannot shrink the window to the input's size: the frame asks for all of it.
  const long30 = zstd(text, '--long=30');
  assert.ok((await decode(long30, 1 << 20)).equals(text));
  const long31 = zstd(text, '--long=31');
  await assert.rejects(decode(long31, 1 << 20), (error: unknown) => {
    assert.ok(error instanceof BlockwiseError, String(error));
    assert.equal(error.code, 'SOURCE_UNSUPPORTED');
    assert.match(error.message, /needs a 2 GiB window \(made with zstd --long=31\).*install zstd/);
    return true;
  });
});
