// What follows each bzip2 stream's end: another stream or zero padding, else the file is damaged
// there. Files made by the real bzip2 and lbzip2, fed in pieces of every awkward size.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import type { FlashJob } from '../../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { runFlash } from '../flash';
import { Bzip2Ends } from './bzip2-ends';
import { bunzip2Stream } from './bzip2-source';
import './register';

const MiB = 1024 * 1024;
const part = Buffer.concat([randomBytes(300_000), Buffer.from('text compresses well\n'.repeat(40_000))]);
const bz = (data: Buffer, tool = 'bzip2') => execFileSync(tool, ['-c', '-9'], { input: data, maxBuffer: 64 * MiB });
const one = bz(part);
const three = Buffer.concat([one, bz(part.subarray(1000)), bz(part.subarray(7))]);
const second = one.length;

/** Runs the check over `data` cut into `piece`-byte chunks; the error it ends with, if any. */
function check(data: Buffer, piece: number): BlockwiseError | undefined {
  const ends = new Bzip2Ends();
  for (let at = 0; at < data.length; at += piece) ends.push(data.subarray(at, at + piece));
  try {
    ends.finish();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof BlockwiseError);
    return error;
  }
}

const PIECES = [1, 3, 7, 11, 16, 4093, 65536, 1 << 20];

test('whole files pass, in any pieces: one stream, several (bzip2, lbzip2), an empty stream, zero padding after', () => {
  const lbzip2 = bz(Buffer.concat([part, part, part, part]), 'lbzip2');
  const empty = bz(Buffer.alloc(0));
  for (const data of [one, three, lbzip2, Buffer.concat([empty, one]), Buffer.concat([three, Buffer.alloc(5000)]), Buffer.concat([one, Buffer.alloc(3)])]) {
    for (const piece of PIECES) assert.equal(check(data, piece)?.message, undefined, `${data.length} bytes in ${piece}-byte pieces`);
  }
});

test('a damaged stream header, junk between streams, or junk after the last: failed at the byte after the stream before it', () => {
  const damaged = Buffer.from(three);
  damaged[second + 1] = 0x00; // "BZh9" → "B\0h9": the decoders stop there, as at trailing garbage
  const gap = Buffer.concat([one, Buffer.alloc(512), three.subarray(second)]);
  const junk = Buffer.concat([three, Buffer.from('\nnot bzip2\n')]);
  for (const [data, end, first] of [
    [damaged, second, second],
    [gap, second, second + 512],
    [junk, three.length, three.length],
  ] as const) {
    for (const piece of PIECES) {
      const error = check(data, piece);
      assert.equal(error?.code, 'SOURCE_CORRUPT', `${piece}-byte pieces`);
      assert.equal(error.message, `the bzip2 stream ending at byte ${end} is followed by bytes that are neither another stream nor zero padding (the first at byte ${first})`);
      assert.equal(error.details.offset, first);
    }
  }
});

test('the builtin decoder reads to the end of the input and stops quietly after the last stream, before zeros or junk alike', async () => {
  const decode = async (data: Buffer, piece: number) => {
    const chunks: Buffer[] = [];
    let readToEnd = false;
    async function* input() {
      for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece);
      readToEnd = true;
    }
    for await (const chunk of bunzip2Stream(input(), { name: 'x' }, {})) chunks.push(chunk);
    return { image: Buffer.concat(chunks), readToEnd };
  };
  const whole = Buffer.concat([part, part.subarray(1000), part.subarray(7)]);
  // Where the stream ends mid-byte, and after it 1 (too few bytes for a header), 2, 4096 zeros or junk.
  for (const tail of [Buffer.alloc(1), Buffer.alloc(2), Buffer.alloc(4096), Buffer.from('\nnot bzip2\n'), Buffer.from('BZh9 not a block')]) {
    for (const piece of [4093, 1 << 20]) {
      const data = Buffer.concat([three, tail]);
      const { image, readToEnd } = await decode(data, piece);
      assert.ok(image.equals(whole), `${tail.length} bytes after, ${piece}-byte pieces`);
      assert.ok(readToEnd, 'every byte read, as the check of stream ends needs');
    }
  }
  await assert.rejects(decode(three.subarray(0, three.length - 20), 65536), /unexpected end of the compressed data/);
});

const skip = loopSkipReason();

for (const family of ['builtin', 'system'] as const) describe(`a multi-stream .bz2 with a damaged header in the middle, flashed (${family} decoder)`, { skip }, () => {
  let dir = '';
  let dev: LoopDevice;
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    process.env.BLOCKWISE_DECODER = family;
    dir = mkdtempSync('/dev/shm/blockwise-bzip2-ends-');
    dev = createLoopDevice(8 * MiB);
    const damaged = Buffer.from(three);
    damaged[second + 1] = 0x00;
    writeFileSync(path.join(dir, 'damaged.img.bz2'), damaged);
    writeFileSync(path.join(dir, 'padded.img.bz2'), Buffer.concat([three, Buffer.alloc(4096)]));
    writeFileSync(path.join(dir, 'junk-after.img.bz2'), Buffer.concat([three, Buffer.alloc(4096), Buffer.from('junk')]));
  });
  after(() => {
    delete process.env.BLOCKWISE_DECODER;
    dev?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const job = (name: string): FlashJob => ({ source: { kind: 'file', path: path.join(dir, name) }, targets: [{ path: dev.path }], options: { verify: true, full: true } });
  const flash = (name: string) => runFlash(job(name), { signal: new AbortController().signal, onProgress: () => {} });

  test('fails naming the byte, never a short image written and verified; zero padding after the last stream is fine', async () => {
    const whole = Buffer.concat([part, part.subarray(1000), part.subarray(7)]);
    const result = await flash('padded.img.bz2');
    assert.equal(result.imageSize, whole.length);
    assert.ok(readBacking(dev, 0, whole.length).equals(whole));
    for (const [name, end, first] of [
      ['damaged.img.bz2', second, second],
      ['junk-after.img.bz2', three.length, three.length + 4096],
    ] as const) {
      await assert.rejects(flash(name), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError, String(error));
        assert.equal(error.code, 'SOURCE_CORRUPT', error.message);
        assert.equal(error.message, `${name}: the bzip2 stream ending at byte ${end} is followed by bytes that are neither another stream nor zero padding (the first at byte ${first}).`);
        assert.equal(error.details.offset, first);
        assert.equal(error.details.driveIncomplete, true);
        return true;
      });
    }
  });
});
