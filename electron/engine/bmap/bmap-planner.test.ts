// The .bmap planner fed the way the pipeline feeds it, in chunks of awkward sizes: ranges spanning
// many chunks, checksums settled across chunk edges, images longer or shorter than their map.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import type { Range } from '../write-planner';
import type { Bmap, BmapRange } from './bmap-file';
import { BmapPlanner } from './bmap-planner';

const BLOCK = 4096;

function mapOf(image: Buffer, blocks: Array<[number, number]>, type: 'sha1' | 'sha256' | undefined = 'sha256'): Bmap {
  const ranges: BmapRange[] = blocks.map(([first, last]) => {
    const start = first * BLOCK;
    const end = Math.min((last + 1) * BLOCK, image.length);
    const r: BmapRange = { start, end, firstBlock: first, lastBlock: last };
    if (type) r.checksum = createHash(type).update(image.subarray(start, end)).digest('hex');
    return r;
  });
  const bmap: Bmap = {
    path: 'test.bmap',
    version: '2.0',
    imageSize: image.length,
    blockSize: BLOCK,
    blocksCount: Math.ceil(image.length / BLOCK),
    mappedBlocksCount: blocks.reduce((n, [a, b]) => n + b - a + 1, 0),
    ranges,
    mappedBytes: ranges.reduce((n, r) => n + r.end - r.start, 0),
  };
  if (type) bmap.checksumType = type;
  return bmap;
}

/** Streams `image` through the planner in chunks of `chunk` bytes; returns every range it asked to write. */
function stream(planner: BmapPlanner, image: Buffer, chunk: number): Range[] {
  const out: Range[] = [];
  for (let offset = 0; offset < image.length; offset += chunk) {
    const data = image.subarray(offset, Math.min(offset + chunk, image.length));
    planner.observe(offset, data);
    out.push(...planner.rangesToWrite(offset, offset + data.length));
  }
  planner.finish();
  return out;
}

function merged(ranges: Range[]): Range[] {
  const out: Range[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && last.end === r.start) last.end = r.end;
    else out.push({ ...r });
  }
  return out;
}

const expectCode = (code: string, pattern: RegExp) => (error: unknown) => error instanceof BlockwiseError && error.code === code && pattern.test(error.message);

describe('bmap planner', () => {
  const image = randomBytes(40 * BLOCK + 777);
  const blocks: Array<[number, number]> = [
    [0, 0],
    [3, 17],
    [18, 18],
    [30, 40],
  ];

  test('asks for exactly the mapped bytes, whatever the chunk size, and checks every range', () => {
    for (const chunk of [1000, BLOCK, 3 * BLOCK + 5, image.length]) {
      for (const type of ['sha256', 'sha1', undefined] as const) {
        const written = merged(stream(new BmapPlanner(mapOf(image, blocks, type), 'img'), image, chunk));
        assert.deepEqual(written, [
          { start: 0, end: BLOCK },
          { start: 3 * BLOCK, end: 19 * BLOCK },
          { start: 30 * BLOCK, end: image.length },
        ]);
      }
    }
  });

  test('a byte that differs inside a range spanning chunks is CHECKSUM_MISMATCH at that range', () => {
    const bmap = mapOf(image, blocks);
    const tampered = Buffer.from(image);
    tampered[10 * BLOCK + 3]! ^= 1;
    assert.throws(() => stream(new BmapPlanner(bmap, 'img'), tampered, 3000), expectCode('CHECKSUM_MISMATCH', /blocks 3-17/));
    try {
      stream(new BmapPlanner(bmap, 'img'), tampered, 3000);
    } catch (error) {
      assert.equal((error as BlockwiseError).details.offset, 3 * BLOCK);
    }
    // A changed byte outside every range is not the map's business.
    const outside = Buffer.from(image);
    outside[25 * BLOCK]! ^= 1;
    assert.doesNotThrow(() => stream(new BmapPlanner(bmap, 'img'), outside, 3000));
  });

  test('an image longer or shorter than the map describes is BMAP_INVALID', () => {
    const bmap = mapOf(image, blocks, undefined);
    const longer = Buffer.concat([image, Buffer.alloc(10)]);
    assert.throws(() => stream(new BmapPlanner(bmap, 'img'), longer, BLOCK), expectCode('BMAP_INVALID', /longer than/));
    const shorter = image.subarray(0, 35 * BLOCK);
    assert.throws(() => stream(new BmapPlanner(bmap, 'img'), shorter, BLOCK), expectCode('BMAP_INVALID', /describes an image of/));
  });
});
