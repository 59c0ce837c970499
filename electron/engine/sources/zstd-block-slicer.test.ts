// The slicer must hand the pure-JS zstd decoder pieces that decode to a few MiB each — even for
// runs of zeros, which zstd stores in 4 bytes per 128 KiB — without changing a single byte.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { sliceAtBlocks } from './zstd-block-slicer';

const MiB = 1024 * 1024;

function haveZstd(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function* inPieces(data: Buffer, sizes: number[]): AsyncIterable<Buffer> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield data.subarray(at, at + n);
    at += n;
  }
}

/** Decodes slice by slice with fzstd, recording how much each slice produced. */
async function decodeSlices(compressed: Buffer, pieceSizes: number[]): Promise<{ output: Buffer; largest: number }> {
  const { Decompress } = require('fzstd') as typeof import('fzstd');
  const parts: Buffer[] = [];
  let produced = 0;
  let largest = 0;
  const decoder = new Decompress((data) => {
    parts.push(Buffer.from(data));
    produced += data.length;
  });
  for await (const slice of sliceAtBlocks(inPieces(compressed, pieceSizes))) {
    produced = 0;
    decoder.push(slice);
    largest = Math.max(largest, produced);
  }
  decoder.push(new Uint8Array(0), true);
  return { output: Buffer.concat(parts), largest };
}

const skip = haveZstd() ? undefined : 'the zstd command is not installed';

test('bytes are unchanged: several frames, checksums, a skippable frame, odd input piece sizes', { skip }, async () => {
  const a = Buffer.concat([randomBytes(3 * MiB), Buffer.alloc(5 * MiB), randomBytes(777)]);
  const b = Buffer.concat([Buffer.alloc(2 * MiB, 0x41), randomBytes(MiB)]);
  const skippable = Buffer.alloc(8 + 10);
  skippable.writeUInt32LE(0x184d2a53, 0);
  skippable.writeUInt32LE(10, 4);
  const compressed = Buffer.concat([
    execFileSync('zstd', ['-q', '-c', '--check'], { input: a, maxBuffer: 64 * MiB }),
    skippable,
    execFileSync('zstd', ['-q', '-c', '--no-check', '-19'], { input: b, maxBuffer: 64 * MiB }),
  ]);
  for (const sizes of [[1], [7, 13, 4096], [65536], [compressed.length]]) {
    if (sizes[0] === 1 && compressed.length > 2 * MiB) continue;
    const { output } = await decodeSlices(compressed, sizes);
    assert.ok(output.equals(Buffer.concat([a, b])), `pieces of ${sizes.join('/')}`);
  }
});

test('a highly compressible image never decodes to more than a few MiB per slice', { skip }, async () => {
  const zeros = Buffer.alloc(512 * MiB);
  const compressed = execFileSync('zstd', ['-q', '-c'], { input: zeros, maxBuffer: 64 * MiB });
  assert.ok(compressed.length < MiB, 'zeros compress to almost nothing');
  const { output, largest } = await decodeSlices(compressed, [65536]);
  assert.equal(output.length, zeros.length);
  assert.ok(output.equals(zeros));
  assert.ok(largest <= 4 * MiB + 128 * 1024, `one slice decoded to ${largest} bytes`);
});

test('the builtin zstd decoder keeps memory flat on 1 GiB of zeros', { skip }, async () => {
  const { fzstdStream } = require('./zstd-source') as typeof import('./zstd-source');
  const compressed = execFileSync('sh', ['-c', 'head -c 1073741824 /dev/zero | zstd -q -c'], { maxBuffer: 64 * MiB });
  const before = process.memoryUsage().rss;
  let peak = before;
  let total = 0;
  for await (const piece of fzstdStream(inPieces(compressed, [65536]))) {
    total += piece.length;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  assert.equal(total, 1024 * MiB);
  // Decoding it all at once would hold the whole GiB; bounded slices keep growth to a few MiB.
  assert.ok(peak - before < 256 * MiB, `RSS grew by ${Math.round((peak - before) / MiB)} MiB`);
});
