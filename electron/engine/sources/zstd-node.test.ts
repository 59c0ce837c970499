// Node's own zstd decoder, frame by frame (zstd-node.ts): several frames with a skippable one
// between them decode whole; input cut inside a frame, or followed by something that is no frame,
// is an error instead of a short image. Needs a Node with zlib zstd (22.15+, Electron's line):
// `npm test` runs this file again under Node 22 (scripts/fetch-node22.sh).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { zstdFramesThrough } from './zstd-node';

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: (options?: object) => NodeJS.ReadWriteStream };
const create = (zlib as ZlibWithZstd).createZstdDecompress;
const skip = create ? false : `Node ${process.version} has no zlib zstd (22.15+ has); the Node 22 run of npm test covers this`;
if (skip) console.log(`# skipping zstd-node tests: ${skip}`);

const zstd = (data: Buffer) => execFileSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 64 << 20 });
function skippable(length: number): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a53, 0);
  head.writeUInt32LE(length, 4);
  return Buffer.concat([head, randomBytes(length)]);
}
async function decode(input: Buffer, pieces = 1000): Promise<Buffer> {
  async function* chunks() {
    for (let at = 0; at < input.length; at += pieces) yield input.subarray(at, at + pieces);
  }
  const out: Buffer[] = [];
  for await (const b of zstdFramesThrough(chunks(), () => create!({ chunkSize: 1 << 16 }))) out.push(b);
  return Buffer.concat(out);
}

test('several frames with a skippable frame between them decode to all of their bytes', { skip }, async () => {
  const a = Buffer.concat([randomBytes(300_000), Buffer.alloc(500_000)]);
  const b = randomBytes(200_000);
  const input = Buffer.concat([zstd(a), skippable(1234), zstd(b)]);
  assert.ok((await decode(input)).equals(Buffer.concat([a, b])));
  assert.ok((await decode(input, 7)).equals(Buffer.concat([a, b])), 'headers split across tiny chunks');
  assert.equal((await decode(Buffer.alloc(0))).length, 0);
});

test('input cut inside a frame, or followed by data that is no frame, is an error', { skip }, async () => {
  const a = zstd(randomBytes(400_000));
  for (const cut of [3, 10, Math.floor(a.length / 2), a.length - 1]) {
    await assert.rejects(decode(a.subarray(0, cut)), /ended early|unexpected end/, `cut at ${cut} of ${a.length}`);
  }
  await assert.rejects(decode(Buffer.concat([a, Buffer.from('not zstd at all')])), /no frame starts at byte/);
});
