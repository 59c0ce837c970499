// The size of a .zst's image, summed from its frames' headers by hopping from block header to block
// header (zstd-source.ts): what the flash checks against the drive before its first write. The
// same answers through windows of every size, down to a few bytes, so that no header split across
// two windows is misread.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findExecutable } from './decoder-choice';
import { zstdSizeFromFrames } from './zstd-source';

const WINDOWS = [16, 37, 4096, 256 * 1024];
let dir = '';
const file = (name: string) => path.join(dir, name);

/** zstd's output for `data` read from a file, so its frame records the content size. */
function zstdOfFile(name: string, data: Buffer, ...args: string[]): Buffer {
  writeFileSync(file(name), data);
  return execFileSync('zstd', ['-q', '-c', ...args, file(name)], { maxBuffer: 64 << 20 });
}

function skippable(length: number): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a5e, 0);
  head.writeUInt32LE(length, 4);
  return Buffer.concat([head, randomBytes(length)]);
}

/** Random runs (raw blocks), zero runs (a few bytes each) and text-like runs (compressed blocks). */
function image(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += 5 * 65536) {
    randomBytes(Math.min(65536, size - at)).copy(out, at);
    if (at + 131072 < size) out.write('abcdefgh'.repeat(8192), at + 131072, 'latin1');
  }
  return out;
}

async function sizeOf(stored: Buffer): Promise<(number | undefined)[]> {
  writeFileSync(file('x.zst'), stored);
  const sizes = [];
  for (const w of WINDOWS) sizes.push(await zstdSizeFromFrames(file('x.zst'), stored.length, w));
  return sizes;
}

const every = (value: number | undefined) => WINDOWS.map(() => value);

describe('zstd size from frame headers', { skip: findExecutable('zstd') ? undefined : 'the zstd tool is not installed' }, () => {
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-zstd-size-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('one frame: its recorded size, through windows of any size', async () => {
    const data = image(3 * 1024 * 1024 + 12345);
    assert.deepEqual(await sizeOf(zstdOfFile('a', data)), every(data.length));
    const blank = Buffer.alloc(5 * 1024 * 1024); // a few bytes per block
    assert.deepEqual(await sizeOf(zstdOfFile('b', blank, '-19')), every(blank.length));
  });

  test('frames and skippable frames in a row: the sum', async () => {
    const a = image(1024 * 1024 + 7);
    const b = image(300 * 1024);
    const stored = Buffer.concat([skippable(4), zstdOfFile('a', a), skippable(70000), zstdOfFile('b', b, '--no-check'), skippable(0)]);
    assert.deepEqual(await sizeOf(stored), every(a.length + b.length));
  });

  test('an empty image, and a tiny one whose header is most of the file', async () => {
    assert.deepEqual(await sizeOf(zstdOfFile('e', Buffer.alloc(0))), every(0));
    assert.deepEqual(await sizeOf(zstdOfFile('t', Buffer.from('x'))), every(1));
    assert.deepEqual(await sizeOf(skippable(4)), every(0));
  });

  test('unknown, never wrong: a frame that records no size, a cut file, bytes after the last frame', async () => {
    const data = image(2 * 1024 * 1024);
    const streamed = execFileSync('zstd', ['-q', '-c'], { input: data, maxBuffer: 64 << 20 });
    assert.deepEqual(await sizeOf(streamed), every(undefined), 'piped through zstd: no content size');
    const whole = zstdOfFile('c', data);
    for (const cut of [1, 5, 9, 100, 70000, whole.length - 5, whole.length - 1]) {
      assert.deepEqual(await sizeOf(whole.subarray(0, cut)), every(undefined), `cut at ${cut}`);
    }
    assert.deepEqual(await sizeOf(Buffer.concat([whole, Buffer.from('garbage!')])), every(undefined));
    assert.deepEqual(await sizeOf(Buffer.from('not zstd at all, just text')), every(undefined));
    assert.deepEqual(await sizeOf(readFileSync(file('c'))), every(undefined), 'the raw image itself');
  });
});
