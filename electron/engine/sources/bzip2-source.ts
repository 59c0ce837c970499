// bzip2 in-process, for systems without a bzip2 tool (Windows): the block decoder of
// unbzip2-stream (pure JS; chosen by bench/decompressors.ts), driven from here. Its own stream
// driver threw at anything after a stream that is not another stream (zero padding included), as
// "input ended" or a TypeError, and decoded every block it had bytes for without waiting for the
// reader. This one decodes a block when the reader asks for more, reads concatenated streams as
// pbzip2 writes them, and stops quietly where what follows a stream is not another one, as the
// tools do: whether those bytes may be there (zero padding) is for checkingStreamEnds to say, which
// names the byte when they may not. bzip2 records no image size.

import type { StreamDecoder } from './decoded-source';
import { isStreamHeader } from './bzip2-ends';

/** Reads `n` bits (most significant first); `null` skips to the next byte boundary. */
type BitSource = (n: number | null) => number;

/** unbzip2-stream's lib/bzip2: synchronous, and stateful per stream (hence one object per decoder). */
interface BlockDecoder {
  /** Reads "BZh1".."BZh9"; the level (block size in 100 kB). */
  header(bits: BitSource): number;
  /** Decodes one block into `out`; the stream's combined CRC so far, or null at its checked end. */
  decompress(bits: BitSource, out: (byte: number) => void, buf: Int32Array, bufsize: number, streamCrc: number): number | null;
}

/** Thrown by the bit reader when the bytes it holds run out; the step is retried with more. */
const OUT_OF_BYTES = new Error('out of buffered bytes');
const MASK = [0, 0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];
const EMPTY = Buffer.alloc(0);

/** Bits over the chunks read so far, with a mark to go back to when a block needed more of them. */
class BitReader {
  private chunks: Buffer[] = [];
  /** Index in `chunks` of `bytes`, the chunk being read (-1 before the first). */
  private current = -1;
  private bytes: Buffer = EMPTY;
  private at = 0;
  private bit = 0;
  /** Bytes in the chunks after the current one. */
  private later = 0;
  private mark = { at: 0, bit: 0 };

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.later += chunk.length;
  }

  /** Bytes not yet read (a partly read byte counts). */
  ahead(): number {
    return this.bytes.length - this.at + this.later;
  }

  /** Remembers this place (and forgets the chunks before it): `rewind` comes back to it. */
  setMark(): void {
    if (this.current > 0) {
      this.chunks.splice(0, this.current);
      this.current = 0;
    }
    this.mark = { at: this.at, bit: this.bit };
  }

  rewind(): void {
    this.current = this.chunks.length > 0 ? 0 : -1;
    this.bytes = this.chunks[0] ?? EMPTY;
    this.later = this.chunks.reduce((n, c) => n + c.length, 0) - this.bytes.length;
    ({ at: this.at, bit: this.bit } = this.mark);
  }

  /** The next `n` whole bytes, or fewer at the end of those held; nothing is consumed. At a byte boundary only. */
  peek(n: number): Buffer {
    const parts = [this.bytes.subarray(this.at), ...this.chunks.slice(this.current + 1)];
    return Buffer.concat(parts).subarray(0, n);
  }

  readonly bits: BitSource = (n) => {
    if (n === null) {
      if (this.bit !== 0) {
        this.bit = 0;
        this.at++;
      }
      return 0;
    }
    let result = 0;
    while (n > 0) {
      if (this.at >= this.bytes.length) {
        if (this.current + 1 >= this.chunks.length) throw OUT_OF_BYTES;
        this.bytes = this.chunks[++this.current]!;
        this.later -= this.bytes.length;
        this.at = 0;
      }
      const left = 8 - this.bit;
      const byte = this.bytes[this.at]!;
      if (n >= left) {
        result = (result << left) | (byte & MASK[left]!);
        this.bit = 0;
        this.at++;
        n -= left;
      } else {
        result = (result << n) | ((byte >> (left - n)) & MASK[n]!);
        this.bit += n;
        n = 0;
      }
    }
    return result;
  };
}

/** A block's decoded bytes, collected one at a time (the block decoder's interface). */
class BlockOutput {
  private readonly full: Buffer[] = [];
  private piece = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  readonly byte = (value: number): void => {
    if (this.used === this.piece.length) {
      this.full.push(this.piece);
      this.piece = Buffer.allocUnsafe(1 << 20);
      this.used = 0;
    }
    this.piece[this.used++] = value;
  };

  take(): Buffer {
    const last = this.piece.subarray(0, this.used);
    return this.full.length === 0 ? last : Buffer.concat([...this.full, last]);
  }
}

export const bunzip2Stream: StreamDecoder = async function* (input) {
  const blocks = Object.create(require('unbzip2-stream/lib/bzip2') as object) as BlockDecoder;
  const reader = new BitReader();
  const source = input[Symbol.asyncIterator]();
  let ended = false;
  const fill = async (bytes: number) => {
    while (!ended && reader.ahead() < bytes) {
      const next = await source.next();
      if (next.done) ended = true;
      else reader.push(next.value);
    }
  };
  /**
   * Runs a synchronous step of the decoder with at least `bytes` read ahead. A compressed block
   * has no upper size the decoder could wait for, so a step that runs out before the input
   * ends is run again from its start with twice as many.
   */
  const step = async <T>(bytes: number, run: () => T): Promise<T> => {
    for (let want = bytes; ; want *= 2) {
      await fill(want);
      reader.setMark();
      try {
        return run();
      } catch (error) {
        if (error !== OUT_OF_BYTES) throw error;
        if (ended) throw new Error('unexpected end of the compressed data');
        reader.rewind();
      }
    }
  };
  try {
    for (let streams = 0; ; streams++) {
      if (streams > 0) {
        await fill(10);
        if (!isStreamHeader(reader.peek(10), 0)) break;
      }
      const level = await step(4, () => blocks.header(reader.bits));
      const bufsize = 100000 * level;
      const buf = new Int32Array(bufsize);
      for (let crc = 0; ; ) {
        let out = new BlockOutput();
        const next = await step(bufsize + 25000, () => {
          out = new BlockOutput();
          return blocks.decompress(reader.bits, out.byte, buf, bufsize, crc);
        });
        if (next === null) break;
        crc = next;
        yield out.take();
      }
    }
    // The rest is read as a tool reads all its input, so that the check of stream ends sees it.
    while (!ended) ended = (await source.next()).done === true;
  } finally {
    await source.return?.();
  }
};
