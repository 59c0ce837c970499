// Node's own zstd decoder (zlib, Node 22.15+ and so Electron), made safe for disk images. On its
// own it stops after the first frame, so a .zst of several frames (pzstd, streaming zstd,
// concatenated files) wrote only its first part and reported success; and input cut off inside a
// frame ended without an error. Both were found running the loop-device matrix under Node 22.
// Here the stream is cut into frames by their headers (magic, frame header, block headers,
// checksum), each frame goes through a decoder of its own, and input that ends inside a frame or
// holds something other than a frame is an error.

import { throughTransform } from './gzip-source';

const ZSTD_MAGIC = 0xfd2fb528;

/** Buffered pull from an async iterator, for parsing headers that straddle chunks. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;
  /** Stored bytes consumed so far, for error messages. */
  position = 0;
  private ended = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Pulls until `n` bytes are buffered; false if the input ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.length < n && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.length += next.value.length;
      }
    }
    return this.length >= n;
  }

  /** The first `n` buffered bytes (ensured), not consumed. */
  peek(n: number): Buffer {
    return this.peekAt(0, n);
  }

  /** `n` buffered bytes from `offset` (ensured up to offset + n), not consumed. */
  peekAt(offset: number, n: number): Buffer {
    let within = offset;
    for (const chunk of this.chunks) {
      if (within < chunk.length) {
        if (within + n <= chunk.length) return chunk.subarray(within, within + n);
        break;
      }
      within -= chunk.length;
    }
    // Straddles chunks: rare (a header across a chunk boundary), so a copy is fine.
    return Buffer.concat(this.chunks).subarray(offset, offset + n);
  }

  /** Consumes up to `n` buffered bytes, as the pieces they are buffered in. */
  *take(n: number): Generator<Buffer> {
    while (n > 0 && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const piece = first.length <= n ? first : first.subarray(0, n);
      if (piece === first) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= piece.length;
      this.position += piece.length;
      n -= piece.length;
      yield piece;
    }
  }

  async close(): Promise<void> {
    await this.source.return?.();
  }
}

function endedEarly(q: ByteQueue): Error {
  return new Error(`zstd data ended early, inside a frame (unexpected end at byte ${q.position + q.length})`);
}

/** Frame header size after the magic, from its descriptor byte. */
function frameHeaderSize(descriptor: number): number {
  const singleSegment = (descriptor >> 5) & 1;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]!;
  return 1 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]! + fcsBytes;
}

/** Bytes handed to a decoder at once: one zlib job each, so not block by block (~50 KiB). */
const BATCH = 1 << 20;

/**
 * The stored bytes of one zstd frame (the queue is at its magic), in pieces of about BATCH: the
 * block headers are walked ahead, and what they cover is handed on.
 */
async function* frameBytes(q: ByteQueue): AsyncIterable<Buffer> {
  if (!(await q.ensure(5))) throw endedEarly(q);
  const descriptor = q.peek(5)[4]!;
  let parsed = 4 + frameHeaderSize(descriptor);
  if (!(await q.ensure(parsed))) throw endedEarly(q);
  for (;;) {
    if (!(await q.ensure(parsed + 3))) throw endedEarly(q);
    const b = q.peekAt(parsed, 3);
    const block = b[0]! | (b[1]! << 8) | (b[2]! << 16);
    const type = (block >> 1) & 3;
    if (type === 3) throw new Error(`corrupt zstd data: reserved block type at byte ${q.position + parsed}`);
    // Blocks are at most 128 KiB: a frame cut inside one is caught here.
    parsed += 3 + (type === 1 ? 1 : block >>> 3);
    if (!(await q.ensure(parsed))) throw endedEarly(q);
    if (block & 1) break;
    if (parsed >= BATCH) {
      yield* q.take(parsed);
      parsed = 0;
    }
  }
  if ((descriptor >> 2) & 1) {
    parsed += 4;
    if (!(await q.ensure(parsed))) throw endedEarly(q);
  }
  yield* q.take(parsed);
}

/** Decodes every frame of `input` with a fresh decoder from `createDecoder`, in order. */
export async function* zstdFramesThrough(input: AsyncIterable<Buffer>, createDecoder: () => NodeJS.ReadWriteStream): AsyncIterable<Buffer> {
  const q = new ByteQueue(input[Symbol.asyncIterator]());
  try {
    for (;;) {
      if (!(await q.ensure(4))) {
        if (q.length === 0) return;
        throw endedEarly(q);
      }
      const magic = q.peek(4).readUInt32LE(0);
      if (magic === ZSTD_MAGIC) {
        yield* throughTransform(frameBytes(q), createDecoder());
      } else if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
        if (!(await q.ensure(8))) throw endedEarly(q);
        let skip = 8 + q.peek(8).readUInt32LE(4);
        while (skip > 0) {
          if (!(await q.ensure(1))) throw endedEarly(q);
          for (const piece of q.take(skip)) skip -= piece.length;
        }
      } else {
        throw new Error(`corrupt zstd data: no frame starts at byte ${q.position}`);
      }
    }
  } finally {
    await q.close();
  }
}
