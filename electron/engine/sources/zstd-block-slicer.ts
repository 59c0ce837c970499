// Cuts a zstd stream at block boundaries into pieces that each decode to a few MiB at most.
// The pure-JS decoder (fzstd) decodes everything it is given in one synchronous call, and zstd
// squeezes a run of zeros into 4 bytes per 128 KiB (RLE blocks): 64 KiB of input can stand for
// gigabytes of output, all of it held in memory at once. Feeding it block-bounded slices keeps the
// output of each call, and so memory, small however compressible the image is.

/** Decoded bytes one slice may stand for, at most (plus one block). */
const SLICE_OUTPUT = 4 * 1024 * 1024;
const MAX_BLOCK = 128 * 1024;
const ZSTD_MAGIC = 0xfd2fb528;

/** Size of a frame header (after the magic), or undefined if `buf` does not hold it yet. */
function frameHeaderSize(buf: Buffer, at: number): number | undefined {
  if (at >= buf.length) return undefined;
  const descriptor = buf[at]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictFlag = descriptor & 3;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  return 1 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictFlag]! + fcsBytes;
}

/**
 * Yields the same bytes as `input`, regrouped so that no piece decodes to much more than
 * SLICE_OUTPUT. Anything it does not understand is passed on untouched for the decoder to judge.
 */
export async function* sliceAtBlocks(input: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  let pos = 0; // parse position in `pending`
  let sliceStart = 0;
  let sliceOutput = 0;
  // What the parser expects next at `pos`.
  let state: 'frame' | 'block' | 'checksum' | 'opaque' = 'frame';
  let checksum = false;

  for await (const chunk of input) {
    pending = pending.length === sliceStart ? chunk : Buffer.concat([pending.subarray(sliceStart), chunk]);
    pos -= sliceStart;
    sliceStart = 0;
    for (;;) {
      if (state === 'opaque') {
        pos = pending.length;
        break;
      }
      if (state === 'frame') {
        if (pos + 4 > pending.length) break;
        const magic = pending.readUInt32LE(pos);
        if (magic === ZSTD_MAGIC) {
          const header = frameHeaderSize(pending, pos + 4);
          if (header === undefined || pos + 4 + header > pending.length) break;
          checksum = ((pending[pos + 4]! >> 2) & 1) === 1;
          pos += 4 + header;
          state = 'block';
        } else if ((magic & 0xfffffff0) === 0x184d2a50) {
          if (pos + 8 > pending.length) break;
          const size = pending.readUInt32LE(pos + 4);
          if (pos + 8 + size > pending.length) break;
          pos += 8 + size; // skippable frame
        } else {
          state = 'opaque';
          continue;
        }
      } else if (state === 'block') {
        if (pos + 3 > pending.length) break;
        const header = pending[pos]! | (pending[pos + 1]! << 8) | (pending[pos + 2]! << 16);
        const last = header & 1;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        const stored = type === 1 ? 1 : type === 3 ? 0 : size;
        if (type === 3 || (type === 2 && size > MAX_BLOCK)) {
          state = 'opaque';
          continue;
        }
        if (pos + 3 + stored > pending.length) break;
        pos += 3 + stored;
        sliceOutput += type === 2 ? MAX_BLOCK : size;
        if (last) state = checksum ? 'checksum' : 'frame';
      } else {
        if (pos + 4 > pending.length) break;
        pos += 4;
        state = 'frame';
      }
      if (sliceOutput >= SLICE_OUTPUT) {
        yield pending.subarray(sliceStart, pos);
        sliceStart = pos;
        sliceOutput = 0;
      }
    }
    // Hand over whole blocks parsed so far; an unfinished block waits for more input.
    if (pos > sliceStart) {
      yield pending.subarray(sliceStart, pos);
      sliceStart = pos;
      sliceOutput = 0;
    }
  }
  if (pending.length > sliceStart) yield pending.subarray(sliceStart);
}
