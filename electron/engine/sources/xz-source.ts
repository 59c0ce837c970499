// xz: blocks that record their sizes (every file `xz -T0`/`-T2` makes) are cut out of the stream,
// wrapped as stand-alone streams and decoded several at a time on the native thread pool, then
// handed out in order; a bounded window keeps memory flat. Streams whose blocks don't record
// sizes (single-threaded xz) go through a streaming decoder. Choices measured in
// bench/decompressors.ts.

import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { availableParallelism } from 'node:os';
import type { SourceSpec } from '../../../shared/flash-types';
import { ByteQueue } from './byte-queue';
import { openDecodedFile } from './decoded-file';
import type { StreamDecoder } from './decoded-source';
import type { SourceReader } from './source';
import {
  LZMA2_FILTER,
  STREAM_HEADER_SIZE,
  XZ_MAGIC,
  checkSize,
  corrupt,
  parseBlockHeader,
  parseFooter,
  parseIndex,
  parseStreamHeader,
  wrapBlock,
} from './xz-container';
import { BlockwiseError } from '../../../shared/errors';

/** Blocks above this are streamed instead: a whole-buffer decode must not balloon memory. */
const MAX_PARALLEL_BLOCK = 128 * 1024 * 1024;
/** Decoded blocks waiting in order, beyond those being decoded. */
const WINDOW_EXTRA = 1;

export type WholeDecoder = (stream: Buffer) => Promise<Buffer>;

let wholeDecoder: WholeDecoder | undefined;
function decodeWhole(stream: Buffer): Promise<Buffer> {
  if (!wholeDecoder) {
    // N-API prebuilt shipped as an optional dependency per platform; async calls run on libuv's pool.
    const { xz } = require('@napi-rs/lzma') as typeof import('@napi-rs/lzma');
    wholeDecoder = (s) => xz.decompress(s);
  }
  return wholeDecoder(stream);
}

/** Streaming decoder for blocks that don't record their sizes (WASM, no native code). */
export async function* streamXz(input: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const { XzReadableStream } = require('xz-decompress') as typeof import('xz-decompress');
  const web = Readable.toWeb(Readable.from(input)) as unknown as ReadableStream<Uint8Array>;
  const reader = new XzReadableStream(web).getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read().catch((error: unknown) => {
        throw embeddedFailure(error);
      });
      if (done) break;
      yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
    finished = true;
  } finally {
    // Abandoned early (inspect, cancel): cancel, so the decoder's shared WASM state is released.
    if (!finished) await reader.cancel().catch(() => undefined);
  }
}

/**
 * xz-embedded's return codes in the streaming decoder's "failed with error code N", said as what
 * they mean. Junk after the last stream (5, a format error) and damage (7) used to count as the
 * file ending early whenever all input had been given: "incomplete download" for a whole one.
 */
function embeddedFailure(error: unknown): unknown {
  const code = /failed with error code (\d+)/.exec((error as Error)?.message ?? '')?.[1];
  // 5: past our own check of the first stream header, only after a stream's end.
  if (code === '5') return corrupt('an xz stream is followed by bytes that are neither another stream nor zero padding');
  if (code === '7') return corrupt('the xz data is damaged');
  return error; // 8, out of input, is the file cut short: said so from where the input ended

}

/** Check type 10 in the stream flags: each block carries the SHA-256 of its decoded bytes. */
const SHA256_CHECK = 10;

/** The streaming decoder (xz-embedded) has no SHA-256; such a file is not damaged, and must not be called so. */
function sha256Unsupported(): BlockwiseError {
  return new BlockwiseError(
    'SOURCE_UNSUPPORTED',
    'this .xz file is one block with SHA-256 checks (xz --check=sha256, single-threaded), which the built-in xz decoder cannot read; install xz (xz-utils) and try again, or decompress it with xz -d and write the .img',
  );
}

/** The xz filters that may precede LZMA2: what xz calls each, as its option. */
const FILTER_OPTIONS = new Map([
  [0x03, 'delta'],
  [0x04, 'x86'],
  [0x05, 'powerpc'],
  [0x06, 'ia64'],
  [0x07, 'arm'],
  [0x08, 'armthumb'],
  [0x09, 'sparc'],
  [0x0a, 'arm64'],
  [0x0b, 'riscv'],
]);

/**
 * Both built-in decoders read LZMA2 alone: a block filtered first (xz --x86, --delta…) failed in
 * them ("decoder error 6", "Unknown filter id 4") and was called damaged, a healthy file the
 * person would download again.
 */
function filterUnsupported(id: number): BlockwiseError {
  const option = FILTER_OPTIONS.get(id);
  const filter = option === undefined ? `an unknown filter (ID 0x${id.toString(16)})` : `the ${option} filter (xz --${option})`;
  return new BlockwiseError(
    'SOURCE_UNSUPPORTED',
    `this .xz file is made with ${filter}, which the built-in xz decoder cannot read; install xz (xz-utils) and try again, or decompress it with xz -d and write the .img`,
  );
}

function truncated(what: string): BlockwiseError {
  return new BlockwiseError('SOURCE_TRUNCATED', `the xz data ends early, inside ${what}`);
}

async function takeExactly(queue: ByteQueue, bytes: number, what: string): Promise<Buffer> {
  const data = await queue.take(bytes);
  if (data.length < bytes) throw truncated(what);
  return data;
}

/** Yields everything still unread in `queue`, starting with `prefix`. */
async function* withPrefix(prefix: Buffer, queue: ByteQueue): AsyncIterable<Buffer> {
  yield prefix;
  yield* queue.stream();
}

export function xzParallelism(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export const xzStream: StreamDecoder = async function* (input) {
  const queue = ByteQueue.of(input);
  const parallel = xzParallelism();
  const pending: Array<Promise<Buffer>> = [];
  try {
    for (;;) {
      // Stream padding: zero bytes in groups of four between and after streams.
      while (!(await queue.atEnd()) && (await queue.peek(4)).equals(Buffer.alloc(4))) await queue.skip(4);
      if (await queue.atEnd()) break;
      const header = await takeExactly(queue, STREAM_HEADER_SIZE, 'a stream header');
      if (!header.subarray(0, 6).equals(XZ_MAGIC)) throw corrupt('unexpected data after the end of an xz stream');
      const checkType = parseStreamHeader(header);
      for (let blockNo = 0; ; blockNo++) {
        const first = await takeExactly(queue, 1, 'a block header');
        if (first[0] === 0) {
          // Index: its records were checked by each block's decoder; walk past it and the footer.
          const index = await readIndexBytes(queue, first);
          parseIndex(index);
          parseFooter(await takeExactly(queue, 12, 'the stream footer'));
          break;
        }
        const headerBytes = Buffer.concat([first, await takeExactly(queue, (first[0]! + 1) * 4 - 1, 'a block header')]);
        const block = parseBlockHeader(headerBytes);
        const filter = block.filters.find((id) => id !== LZMA2_FILTER);
        if (filter !== undefined) throw filterUnsupported(filter);
        if (block.compressedSize === undefined || block.uncompressedSize === undefined || block.uncompressedSize > MAX_PARALLEL_BLOCK) {
          if (blockNo !== 0) throw corrupt('an xz stream mixes blocks with and without recorded sizes');
          if (checkType === SHA256_CHECK) throw sha256Unsupported();
          // Hand this stream and all that follows to the streaming decoder, after the blocks in flight.
          for (const p of pending.splice(0)) yield await p;
          yield* streamXz(withPrefix(Buffer.concat([header, headerBytes]), queue));
          return;
        }
        const padded = Math.ceil(block.compressedSize / 4) * 4;
        const body = await takeExactly(queue, padded + checkSize(checkType), 'a block');
        // The whole-buffer decoder knows no SHA-256 check: it gets the block without it, and the
        // check is made here on what it decodes.
        const sha256 = checkType === SHA256_CHECK ? body.subarray(padded) : undefined;
        const wrappedCheck = sha256 ? 0 : checkType;
        const unpadded = block.headerSize + block.compressedSize + checkSize(wrappedCheck);
        const whole = wrapBlock(wrappedCheck, Buffer.concat([headerBytes, sha256 ? body.subarray(0, padded) : body]), unpadded, block.uncompressedSize);
        const expected = block.uncompressedSize;
        const decoding = decodeWhole(whole).then((out) => {
          if (out.length !== expected) throw corrupt(`an xz block decoded to ${out.length} bytes instead of ${expected}`);
          if (sha256 && !createHash('sha256').update(out).digest().equals(sha256)) throw corrupt('an xz block fails its SHA-256 check');
          return out;
        });
        decoding.catch(() => undefined); // awaited in order below; don't let it count as unhandled
        pending.push(decoding);
        while (pending.length >= parallel + WINDOW_EXTRA) yield await pending.shift()!;
      }
    }
    for (const p of pending.splice(0)) yield await p;
  } finally {
    await queue.close();
  }
};

/** Reads an index whose first byte (the 0x00 indicator) was already taken. */
async function readIndexBytes(queue: ByteQueue, indicator: Buffer): Promise<Buffer> {
  // The index length is only known by walking its records; they are small, so read varints one by one.
  const parts: Buffer[] = [indicator];
  const varint = async (): Promise<number> => {
    let value = 0;
    for (let i = 0; i < 9; i++) {
      const b = (await takeExactly(queue, 1, 'the index'))[0]!;
      parts.push(Buffer.from([b]));
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw corrupt('the xz index is malformed');
  };
  const count = await varint();
  for (let i = 0; i < count * 2; i++) await varint();
  const length = parts.length;
  const padding = (4 - (length % 4)) % 4;
  parts.push(await takeExactly(queue, padding + 4, 'the index'));
  return Buffer.concat(parts);
}

/** Image size from the indexes at the end of the file (every stream, walking backwards). */
export async function xzSizeFromIndex(filePath: string, storedSize: number): Promise<number | undefined> {
  // One descriptor, opened and read without waiting in line on libuv's pool: a few small reads from
  // the end of a local file (page cache). Each awaited open-read-close took several ms at the start
  // of a flash, while xz and the drive's checks kept both cores busy, and the image waited for its
  // size (the awaited open alone held it up to ~45 ms past the first decoded bytes, measured).
  const fd = openSync(filePath, 'r');
  const readAt = (position: number, length: number): Buffer => {
    const out = Buffer.alloc(length);
    return out.subarray(0, readSync(fd, out, 0, length, position));
  };
  try {
    let end = storedSize;
    let total = 0;
    let steps = 0;
    while (end > 0) {
      // A file of many concatenated streams (or much padding) is walked in steps that let others run.
      if (++steps % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
      const tail = readAt(Math.max(0, end - 4), 4);
      if (tail.length === 4 && tail.readUInt32LE(0) === 0) {
        end -= 4; // stream padding
        continue;
      }
      if (end < 2 * STREAM_HEADER_SIZE) return undefined;
      const footer = parseFooter(readAt(end - 12, 12));
      const indexStart = end - 12 - footer.indexSize;
      if (indexStart < STREAM_HEADER_SIZE) return undefined;
      const records = parseIndex(readAt(indexStart, footer.indexSize));
      let blocks = 0;
      for (const r of records) {
        total += r.uncompressedSize;
        blocks += Math.ceil(r.unpaddedSize / 4) * 4;
      }
      end = indexStart - blocks - STREAM_HEADER_SIZE;
      if (end < 0) return undefined;
    }
    return total;
  } finally {
    closeSync(fd);
  }
}

export function openXzFile(filePath: string, storedSize: number, spec: SourceSpec): Promise<SourceReader> {
  // A missing or damaged index (a truncated download) is reported with its offset by the decoder.
  const sizing = xzSizeFromIndex(filePath, storedSize).catch(() => undefined);
  return openDecodedFile(filePath, storedSize, spec, sizing, 'xz');
}
