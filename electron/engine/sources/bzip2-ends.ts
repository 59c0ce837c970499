// What follows the end of each bzip2 stream in a file. A .bz2 is often several streams back to back
// (pbzip2, lbzip2, `cat a.bz2 b.bz2`); every decoder stops quietly where a stream ends and the next
// bytes are not another stream's header, taking them for trailing garbage. So a damaged header in
// the middle of a file, or junk between two files, would end the image there: written, verified
// and short. This finds each stream's real end (its end-of-stream mark, bit-aligned, whose stored
// CRC matches the one combined from the stream's block CRCs) and checks that what follows is
// another stream or zero padding up to the end of the file.
//
// The marks are 48-bit patterns at any bit offset; each of the 8 shifts is searched for by its
// fully fixed middle bytes (Buffer.indexOf), then checked bit by bit. A chance pattern inside
// compressed data (one in 2^48 bit positions) also needs a matching 32-bit CRC to count, so only
// a real end is ever taken for one; a chance block mark spoils the combined CRC, and that stream's
// end then goes unchecked rather than being misjudged.

import { promises as fsp } from 'node:fs';
import { BlockwiseError } from '../../../shared/errors';
import { fileInputOf, type StreamDecoder } from './decoded-source';
import { firstNonZero } from './gzip-source';

interface Pattern {
  kind: 'block' | 'end';
  /** Bit of the first byte (0 = most significant) where the mark starts. */
  shift: number;
  /** The bytes the mark covers, and which of their bits are the mark's. */
  bytes: number[];
  masks: number[];
  /** The bytes fully fixed by the mark, searched for; they start at `first` of `bytes`. */
  inner: Buffer;
  first: number;
}

function patterns(kind: Pattern['kind'], magic: bigint): Pattern[] {
  const out: Pattern[] = [];
  for (let shift = 0; shift < 8; shift++) {
    const bits = 48 + shift;
    const length = Math.ceil(bits / 8);
    const pad = length * 8 - bits;
    const value = magic << BigInt(pad);
    const bytes = Array.from({ length }, (_, i) => Number((value >> BigInt((length - 1 - i) * 8)) & 0xffn));
    const masks = bytes.map((_, i) => (i === 0 ? 0xff >> shift : 0xff) & (i === length - 1 ? (0xff << pad) & 0xff : 0xff));
    const first = shift > 0 ? 1 : 0;
    const lastFull = pad === 0 ? length - 1 : length - 2;
    out.push({ kind, shift, bytes, masks, inner: Buffer.from(bytes.slice(first, lastFull + 1)), first });
  }
  return out;
}

const PATTERNS = [...patterns('block', 0x314159265359n), ...patterns('end', 0x177245385090n)];
/** A mark and the 32-bit CRC after it span at most 11 bytes. */
const MARK_SPAN = 11;
/** Bytes kept from one chunk to the next: enough for a mark (and CRC) cut by the chunk's end. */
const CARRY = 16;

/** "BZh1".."BZh9", then a block's mark or the end mark: the start of a stream. */
export function isStreamHeader(data: Buffer, at: number): boolean {
  if (data[at] !== 0x42 || data[at + 1] !== 0x5a || data[at + 2] !== 0x68) return false;
  const level = data[at + 3]!;
  if (level < 0x31 || level > 0x39) return false;
  const mark = data.subarray(at + 4, at + 10);
  return mark.equals(Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59])) || mark.equals(Buffer.from([0x17, 0x72, 0x45, 0x38, 0x50, 0x90]));
}

/** The 32 bits starting at bit `bit` of `data` (most significant first). */
function bits32(data: Buffer, bit: number): number {
  const at = bit >> 3;
  let value = 0n;
  for (let i = 0; i < 5; i++) value = (value << 8n) | BigInt(data[at + i] ?? 0);
  return Number((value >> BigInt(8 - (bit & 7))) & 0xffffffffn);
}

export class Bzip2Ends {
  private window: Buffer = Buffer.alloc(0);
  /** File offset of window[0]. */
  private base = 0;
  /** Bits before this (file offset × 8) have been looked at. */
  private doneBit = 0;
  private combined = 0;
  /** After a stream's end: where the next must start (or padding begin). */
  private expectAt: number | undefined;
  private padding = false;
  private lastEnd = 0;
  private error: BlockwiseError | undefined;

  /** The next stored bytes, in order. */
  push(chunk: Buffer): void {
    if (this.error || chunk.length === 0) return;
    this.window = this.window.length > 0 ? Buffer.concat([this.window, chunk]) : chunk;
    this.scan();
    const keep = Math.min(this.window.length, CARRY);
    this.base += this.window.length - keep;
    this.window = Buffer.from(this.window.subarray(this.window.length - keep));
  }

  /** At the end of the file: throws if a stream's end was followed by anything but zeros or another stream. */
  finish(): void {
    if (!this.error && this.expectAt !== undefined) this.zerosFrom(this.expectAt - this.base);
    if (this.error) throw this.error;
  }

  private fail(at: number): void {
    this.error = new BlockwiseError(
      'SOURCE_CORRUPT',
      `the bzip2 stream ending at byte ${this.lastEnd} is followed by bytes that are neither another stream nor zero padding (the first at byte ${at})`,
      { offset: at, placed: true },
    );
  }

  /** Checks that the window is zero from `from` on; a first non-zero byte fails. */
  private zerosFrom(from: number): void {
    const start = Math.max(0, from);
    const i = firstNonZero(this.window.subarray(start));
    if (i >= 0) this.fail(this.base + start + i);
  }

  private scan(): void {
    for (;;) {
      if (this.error) return;
      if (this.padding) {
        this.zerosFrom((this.doneBit >> 3) - this.base);
        this.doneBit = (this.base + this.window.length) * 8;
        return;
      }
      if (this.expectAt !== undefined) {
        const at = this.expectAt - this.base;
        if (this.window.length - at < 10) return; // wait for the bytes that tell
        this.expectAt = undefined;
        if (isStreamHeader(this.window, at)) {
          this.combined = 0;
          this.doneBit = (this.base + at) * 8;
        } else {
          this.padding = true;
          this.doneBit = (this.base + at) * 8;
        }
        continue;
      }
      if (!this.nextMarks()) return;
    }
  }

  /** Folds block CRCs up to the next real stream end; true if one was found (then expectAt is set). */
  private nextMarks(): boolean {
    const marks: Array<{ bit: number; kind: Pattern['kind']; crc: number }> = [];
    for (const p of PATTERNS) {
      for (let j = this.window.indexOf(p.inner); j >= 0; j = this.window.indexOf(p.inner, j + 1)) {
        const k = j - p.first;
        if (k < 0 || k + MARK_SPAN > this.window.length) continue;
        const bit = (this.base + k) * 8 + p.shift;
        if (bit < this.doneBit) continue;
        if (!p.bytes.every((b, i) => (this.window[k + i]! & p.masks[i]!) === b)) continue;
        marks.push({ bit, kind: p.kind, crc: bits32(this.window, k * 8 + p.shift + 48) });
      }
    }
    marks.sort((a, b) => a.bit - b.bit);
    for (const mark of marks) {
      this.doneBit = mark.bit + 1;
      if (mark.kind === 'block') {
        this.combined = (((this.combined << 1) | (this.combined >>> 31)) ^ mark.crc) >>> 0;
      } else if (mark.crc === this.combined) {
        this.lastEnd = Math.ceil((mark.bit + 80) / 8);
        this.expectAt = this.lastEnd;
        return true;
      }
    }
    // Marks that may still be cut by the window's end are looked at again with the next chunk.
    this.doneBit = Math.max(this.doneBit, (this.base + Math.max(0, this.window.length - MARK_SPAN)) * 8);
    return false;
  }
}

/** Reads a local file through `ends`, while a tool decodes it from its own descriptor. */
async function scanFile(filePath: string, ends: Bzip2Ends, stopped: () => boolean): Promise<void> {
  const handle = await fsp.open(filePath, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (let position = 0; !stopped(); ) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return;
      ends.push(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/** A bzip2 decoder whose image fails, rather than ends short, where a stream's end is followed by junk. */
export function checkingStreamEnds(decode: StreamDecoder): StreamDecoder {
  return async function* (input, meta, facts) {
    const ends = new Bzip2Ends();
    const file = fileInputOf(input);
    let stopped = false;
    // A local file may be read by the tool itself: it is scanned by a read of its own.
    const fileScan = file ? scanFile(file.path, ends, () => stopped) : undefined;
    fileScan?.catch(() => undefined);
    const source: AsyncIterable<Buffer> = file
      ? input
      : {
          [Symbol.asyncIterator]: () => {
            const iterator = input[Symbol.asyncIterator]();
            return {
              next: async () => {
                const next = await iterator.next();
                if (!next.done) ends.push(next.value);
                return next;
              },
              return: async () => (await iterator.return?.()) ?? { done: true, value: undefined },
            };
          },
        };
    try {
      yield* decode(source, meta, facts);
      await fileScan;
      ends.finish();
    } finally {
      stopped = true;
    }
  };
}
