// A local .zst decoded on its own thread into the caller's buffers (zstd-thread.ts), through
// openSource as the flash opens it: frames, skippable frames, checksums, cut and damaged files,
// images inside that are not raw, and both shared (pool) and plain buffers. Once for each libzstd
// the thread can drive here: Node's zlib (22.15+, Electron's line; `npm test` runs this file again
// under Node 22) and the zstd-napi addon (every Node).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import './register';
import { openSource } from './open-source';
import type { SourceReader } from './source';
import { openDecodedFile } from './decoded-file';
import { nodeHasZstd, zstdThreadEngine } from './zstd-source';
import { openZstdThread, zstdNapiPath, zstdThreadRuns, zstdThreadsStarted } from './zstd-thread';

const engines = [
  { engine: 'zlib', skip: nodeHasZstd() ? false : `Node ${process.version} has no zlib zstd (22.15+ has); the Node 22 run of npm test covers it` },
  { engine: 'napi', skip: zstdNapiPath() ? false : 'the zstd-napi addon is not installed (an optional dependency: npm ci builds it)' },
];
for (const { engine, skip } of engines) if (skip) console.log(`# skipping zstd-thread tests with ${engine}: ${skip}`);

const MiB = 1024 * 1024;
let dir = '';
const file = (name: string) => path.join(dir, name);
const zstd = (data: Buffer, ...args: string[]) => execFileSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 256 * MiB });

function skippable(length: number): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50, 0);
  head.writeUInt32LE(length, 4);
  return Buffer.concat([head, randomBytes(length)]);
}

/** An image that is neither text nor all alike: random runs, zero runs and a partition-table-ish head. */
function image(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += 3 * 65536) randomBytes(Math.min(65536, size - at)).copy(out, at);
  return out;
}

/** Reads the whole image through `reader` in pieces of `chunk`, into shared or plain memory. */
async function readAll(reader: SourceReader, chunk: number, shared: boolean): Promise<Buffer> {
  const into = shared ? Buffer.from(new SharedArrayBuffer(chunk)) : Buffer.alloc(chunk);
  const out: Buffer[] = [];
  for (let n; (n = await reader.read(into)) > 0; ) out.push(Buffer.from(into.subarray(0, n)));
  return Buffer.concat(out);
}

async function open(name: string): Promise<SourceReader> {
  return openSource({ kind: 'file', path: file(name) });
}

async function failure(name: string): Promise<BlockwiseError> {
  const reader = await open(name);
  try {
    await readAll(reader, 2 * MiB, true);
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, String(error));
    return error;
  } finally {
    await reader.close();
  }
  assert.fail(`${name} was read to its end without an error`);
}

const a = image(5 * MiB + 12345);
const b = image(3 * MiB);
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-zstd-thread-'));
  // Two frames (no content size: streamed), a skippable frame between them, checksums on.
  writeFileSync(file('frames.img.zst'), Buffer.concat([zstd(a, '--check'), skippable(4000), zstd(b, '--no-check')]));
  writeFileSync(file('disk.img'), a);
  // From a file, zstd records the content size in the frame header.
  execFileSync('zstd', ['-q', '-T2', file('disk.img'), '-o', file('one.img.zst')]);
  writeFileSync(file('tiny.img.zst'), zstd(a.subarray(0, 1000)));
  const one = readFileSync(file('one.img.zst'));
  writeFileSync(file('cut.img.zst'), one.subarray(0, Math.floor(one.length * 0.7)));
  writeFileSync(file('cut-magic.img.zst'), Buffer.concat([one, Buffer.from([0x28, 0xb5])]));
  writeFileSync(file('trailing.img.zst'), Buffer.concat([one, Buffer.from('these are not zstd frames')]));
  const damaged = Buffer.from(one);
  damaged.fill(0x5a, Math.floor(damaged.length / 2), Math.floor(damaged.length / 2) + 64);
  writeFileSync(file('damaged.img.zst'), damaged);
  execFileSync('tar', ['-cf', file('disk.tar'), '-C', dir, 'disk.img']);
  writeFileSync(file('disk.tar.zst'), zstd(readFileSync(file('disk.tar'))));
});
after(() => rmSync(dir, { recursive: true, force: true }));

for (const { engine, skip } of engines) {
  describe(`libzstd through ${engine}`, { skip }, () => {
    const was = process.env.BLOCKWISE_ZSTD_ENGINE;
    before(() => {
      process.env.BLOCKWISE_ZSTD_ENGINE = engine;
    });
    after(() => {
      if (was === undefined) delete process.env.BLOCKWISE_ZSTD_ENGINE;
      else process.env.BLOCKWISE_ZSTD_ENGINE = was;
    });

    test('frames with a skippable one between them: every byte, into shared and plain buffers, on the thread', async () => {
      for (const shared of [true, false]) {
        const runs = zstdThreadRuns();
        const reader = await open('frames.img.zst');
        assert.equal(zstdThreadRuns(), runs + 1, 'decoded on the zstd thread');
        assert.deepEqual(reader.info.formats, ['zstd']);
        assert.equal(reader.info.size, undefined, 'streamed frames record no size');
        const out = await readAll(reader, shared ? 2 * MiB : 777_777, shared);
        assert.ok(out.equals(Buffer.concat([a, b])), `${shared ? 'shared' : 'plain'} buffers`);
        assert.equal(reader.storedPosition, reader.info.storedSize, 'every stored byte consumed');
        assert.deepEqual(reader.storedFile, { path: file('frames.img.zst'), size: reader.info.storedSize });
        await reader.close();
      }
    });

    test('one frame with its size recorded, and an image smaller than the first look at it', async () => {
      const reader = await open('one.img.zst');
      assert.equal(reader.info.size, a.length);
      assert.ok((await readAll(reader, 4 * MiB, true)).equals(a));
      await reader.close();
      const tiny = await open('tiny.img.zst');
      const out = await readAll(tiny, 2 * MiB, true);
      assert.equal(createHash('sha256').update(out).digest('hex'), createHash('sha256').update(a.subarray(0, 1000)).digest('hex'));
      await tiny.close();
    });

    test('cut inside a frame, or inside the next magic number: SOURCE_TRUNCATED at the end of the file, after the bytes before it', async () => {
      for (const name of ['cut.img.zst', 'cut-magic.img.zst']) {
        const error = await failure(name);
        assert.equal(error.code, 'SOURCE_TRUNCATED', error.message);
        assert.match(error.message, new RegExp(`^${name.replace(/\./g, '\\.')} ends early`));
        assert.equal(error.details.driveIncomplete, undefined, 'a source does not know whether a drive is being written: the flash says');
        assert.ok((error.details.offset as number) > 0, 'stored offset reached');
      }
      const cutAfter = await failure('cut-magic.img.zst');
      assert.equal(cutAfter.details.imageOffset, a.length, 'the whole first frame was handed on before the cut was reported');
    });

    test('data that is no frame after a good one, or a damaged block: SOURCE_CORRUPT naming the file and offset', async () => {
      const trailing = await failure('trailing.img.zst');
      assert.equal(trailing.code, 'SOURCE_CORRUPT', trailing.message);
      assert.match(trailing.message, /trailing\.img\.zst is damaged .*no frame starts at byte \d+/);
      assert.equal(trailing.details.imageOffset, a.length);
      const damaged = await failure('damaged.img.zst');
      assert.equal(damaged.code, 'SOURCE_CORRUPT', damaged.message);
      assert.ok((damaged.details.imageOffset as number) < a.length, 'stopped before the end of the image');
    });

    test('a tar inside a .zst goes the stream way (the tar reader picks the image)', async () => {
      const runs = zstdThreadRuns();
      const reader = await open('disk.tar.zst');
      assert.deepEqual(reader.info.formats, ['zstd', 'tar']);
      assert.equal(reader.info.entry, 'disk.img');
      assert.ok((await readAll(reader, 2 * MiB, true)).equals(a));
      await reader.close();
      // The first 64 KiB are looked at on the flashing thread while the decoding thread starts: a
      // tar sends the file the stream way before the decoding thread is ever used.
      assert.equal(zstdThreadRuns(), runs, 'the decoding thread was not used');
    });

    // The image is known good from its first 64 KiB decoded on the calling thread, so the reader is
    // handed out before the decoding thread has started; should that thread then not start, the
    // image is read the stream way, whole, and not reported as unreadable.
    test('a decoding thread that fails to start after the head was checked: the stream way reads the image instead', async () => {
      const zstdFile = file('one.img.zst');
      const size = readFileSync(zstdFile).length;
      let streamWays = 0;
      const otherwise = () => {
        streamWays++;
        return openDecodedFile(zstdFile, size, { kind: 'file', path: zstdFile }, undefined, 'zstd');
      };
      const failing = `require('node:worker_threads').parentPort.postMessage({ ready: false });`;
      const reader = await openZstdThread(zstdFile, 'one.img.zst', size, Promise.resolve(a.length), zstdThreadEngine()!, otherwise, failing);
      assert.ok(reader, 'handed out on the strength of the head decoded here');
      const memory = new SharedArrayBuffer(4 * MiB);
      const out: Buffer[] = [];
      for (let done = false; !done; ) {
        const buffers = [Buffer.from(memory, 0, 2 * MiB), Buffer.from(memory, 2 * MiB, 2 * MiB)];
        const counts = await Promise.all(buffers.map((x) => reader.read(x))); // two outstanding, as the pipeline has
        for (const [i, n] of counts.entries()) {
          out.push(Buffer.from(buffers[i]!.subarray(0, n)));
          if (n < buffers[i]!.length) done = true;
        }
      }
      assert.equal(reader.storedPosition, size);
      await reader.close();
      assert.equal(streamWays, 1);
      assert.ok(Buffer.concat(out).equals(a));
    });

    // The first 512 KiB are decoded on the calling thread: the drive's first write does not wait
    // for the decoding thread, which starts only when a read goes past them, and skips them.
    test('the first 512 KiB come from the calling thread; the decoding thread starts only for what follows', async () => {
      const threads = zstdThreadsStarted();
      const reader = await open('one.img.zst');
      try {
        const first = Buffer.from(new SharedArrayBuffer(512 * 1024));
        assert.equal(await reader.read(first), first.length);
        assert.ok(first.equals(a.subarray(0, first.length)));
        assert.equal(zstdThreadsStarted(), threads, 'no thread started for the first 512 KiB');
        const rest = await readAll(reader, 2 * MiB, true);
        assert.equal(zstdThreadsStarted(), threads + 1, 'one thread for the rest');
        assert.ok(Buffer.concat([first, rest]).equals(a), 'every byte once, in order: the thread skipped what was handed on');
        assert.equal(reader.storedPosition, readFileSync(file('one.img.zst')).length);
      } finally {
        await reader.close();
      }
    });

    test('reads issued before the last one is answered come back in order (the pipeline keeps two outstanding)', async () => {
      const reader = await open('frames.img.zst');
      assert.equal(reader.concurrentReads, 2);
      const memory = new SharedArrayBuffer(4 * MiB);
      const out: Buffer[] = [];
      for (let done = false; !done; ) {
        // Three at once, the last into plain memory: answered in the order asked, each with the next bytes.
        const buffers = [Buffer.from(memory, 0, 2 * MiB), Buffer.from(memory, 2 * MiB, 2 * MiB), Buffer.alloc(777_777)];
        const counts = await Promise.all(buffers.map((b) => reader.read(b)));
        for (const [i, n] of counts.entries()) {
          out.push(Buffer.from(buffers[i]!.subarray(0, n)));
          if (n < buffers[i]!.length) done = true;
        }
      }
      await reader.close();
      assert.ok(Buffer.concat(out).equals(Buffer.concat([a, b])));
    });
  });
}
