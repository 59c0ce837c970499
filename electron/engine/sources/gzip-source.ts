// gzip through Node's zlib (measured fastest of the candidates, ahead of gzip and pigz -dc, which
// cannot decode in parallel; see bench/decompressors.ts).
// zlib's gunzip reads concatenated members (cat a.gz b.gz, some parallel compressors) by itself;
// what follows the last one is checked here: zero padding, or OpenWrt's firmware metadata.

import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { BlockwiseError } from '../../../shared/errors';
import type { SourceSpec } from '../../../shared/flash-types';
import { openDecodedFile, readRange } from './decoded-file';
import type { StreamDecoder } from './decoded-source';
import type { SourceReader } from './source';

/** Runs a Node transform over the input, pulled by whoever iterates the result. */
export function throughTransform(input: AsyncIterable<Buffer>, transform: NodeJS.ReadWriteStream): AsyncIterable<Buffer> {
  // One input chunk in flight: Readable.from would otherwise read 16 chunks ahead (objectMode).
  pipeline(Readable.from(input, { highWaterMark: 1 }), transform, () => undefined);
  return transform as unknown as AsyncIterable<Buffer>;
}

/**
 * A zlib decoder run over the input until its data ends, for formats where more may follow (zip's
 * data descriptor and next entry, bytes after a gzip file's last member): `unconsumed` gives the
 * input bytes handed to the decoder that it did not use. The input itself is left open.
 */
export function endingTransform(
  input: AsyncIterator<Buffer>,
  transform: zlib.Gunzip | zlib.InflateRaw,
): { output: AsyncIterable<Buffer>; unconsumed(): Promise<Buffer> } {
  const fed: Buffer[] = [];
  /** Input offset of fed[0]. */
  let fedStart = 0;
  let stopped = false;
  /** The input read in flight: its chunk is the caller's too, once the decoder has stopped. */
  let pending: Promise<IteratorResult<Buffer>> | undefined;
  async function* feed(): AsyncGenerator<Buffer> {
    while (!stopped) {
      pending = input.next();
      const next = await pending;
      if (next.done) return;
      // What the decoder has used is forgotten; `bytesWritten` counts input it consumed.
      while (fed.length > 0 && fedStart + fed[0]!.length <= transform.bytesWritten) fedStart += fed.shift()!.length;
      fed.push(next.value);
      if (stopped) return;
      yield next.value;
    }
  }
  pipeline(Readable.from(feed(), { highWaterMark: 1 }), transform, () => undefined);
  return {
    output: transform as unknown as AsyncIterable<Buffer>,
    async unconsumed() {
      stopped = true;
      // A read still in flight lands in `fed` first (its continuation was queued before this one).
      await pending?.catch(() => undefined);
      return Buffer.concat(fed).subarray(transform.bytesWritten - fedStart);
    },
  };
}

/** Index of the first byte that is not zero, or -1. */
export function firstNonZero(data: Buffer): number {
  return data.findIndex((b) => b !== 0);
}

/**
 * gzip, members one after another. zlib stops quietly where a member ends and a zero byte follows,
 * since gzip files are sometimes padded with zeros; anything after the last member must therefore
 * be zeros, or the file is damaged there (a member's header hit, junk between files) and the rest
 * of the image would be silently missing.
 */
export const gunzipStream: StreamDecoder = async function* (input) {
  const source = input[Symbol.asyncIterator]();
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
  const run = endingTransform(source, gunzip);
  try {
    try {
      yield* run.output;
    } catch (error) {
      // Damaged data (not data cut short): placed by what zlib had consumed when it failed, the
      // start of the input it failed in, rather than by how far reading had got (megabytes on).
      if ((error as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw error;
      const at = gunzip.bytesWritten;
      const message = (error as Error).message;
      // A failed CRC is found at a member's end: the damage lies anywhere before.
      const said = /incorrect data check/i.test(message)
        ? `its gzip data does not match its CRC-32 (checked at byte ${at} of the file): it is damaged somewhere before that`
        : `its gzip data is damaged at or after byte ${at} of the file (${message})`;
      throw new BlockwiseError('SOURCE_CORRUPT', said, { offset: at, placed: true });
    }
    const end = gunzip.bytesWritten;
    let at = end;
    /** What follows the last member from its first byte that is not zero (up to a bound). */
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let firstJunk: number | undefined;
    const junk = (offset: number) =>
      new BlockwiseError('SOURCE_CORRUPT', `the gzip member ending at byte ${end} is followed by bytes that are neither another member nor zero padding (the first at byte ${offset})`, {
        offset,
        placed: true,
      });
    const padding = (piece: Buffer) => {
      let from = 0;
      if (firstJunk === undefined) {
        from = firstNonZero(piece);
        if (from >= 0) firstJunk = at + from;
      }
      if (firstJunk !== undefined) {
        kept.push(piece.subarray(from));
        keptBytes += piece.length - from;
        if (keptBytes > MAX_FIRMWARE_TRAILER) throw junk(firstJunk);
      }
      at += piece.length;
    };
    padding(await run.unconsumed());
    for (let next = await source.next(); !next.done; next = await source.next()) padding(next.value);
    if (firstJunk !== undefined && !isFirmwareTrailer(Buffer.concat(kept), firstJunk - end)) throw junk(firstJunk);
  } finally {
    await source.return?.();
  }
};

/** OpenWrt's fwtool blocks (metadata, signature) are a few KiB; more after the image is not theirs. */
const MAX_FIRMWARE_TRAILER = 1 << 20;
const FWIMAGE_MAGIC = 0x46577830; // "FWx0"

/**
 * OpenWrt's images (its x86 combined-*.img.gz among them) carry fwtool's metadata and signature
 * after the gzip data, for sysupgrade: blocks that each end in a 16-byte trailer (magic "FWx0",
 * CRC32, type, the block's whole size, big-endian), walked back from the end of the file; zeros
 * may come before them. gunzip says "trailing garbage ignored"; refused as junk, the official
 * images could not be written. `zerosBefore`: how many zero bytes precede `bytes` after the gzip data.
 */
export function isFirmwareTrailer(bytes: Buffer, zerosBefore = 0): boolean {
  let start = bytes.length;
  let blocks = 0;
  while (start >= 16 && bytes.readUInt32BE(start - 16) === FWIMAGE_MAGIC) {
    const size = bytes.readUInt32BE(start - 4);
    // The first block's zero header may lie in the zeros before `bytes`.
    if (size < 16 || size > start + zerosBefore) return false;
    start -= size;
    blocks++;
  }
  return blocks > 0 && (start <= 0 || firstNonZero(bytes.subarray(0, start)) === -1);
}

const FOUR_GIB = 2 ** 32;

/**
 * Above this many image bytes per stored byte, a trailer is not believed. Disk images compress
 * 2–10× in gzip; the last four bytes of a *truncated* file are arbitrary compressed data, which
 * read as a size land almost anywhere in 0–4 GiB, i.e. mostly far beyond this ratio. Believing
 * such a number would refuse a good drive as too small (IMAGE_TOO_LARGE) instead of reporting the
 * truncation; not believing it only costs an exact total up front (progress then follows the
 * compressed bytes, and a too-large image is still caught when the drive fills).
 */
export const GZIP_TRUSTED_RATIO = 32;

/**
 * The trailer's ISIZE is the last member's size modulo 2^32. It is a lower bound of the image
 * size, never more, so refusing "larger than the drive" on it is right when it is a trailer; it
 * is exact only for one member under 4 GiB. Deflate never shrinks data much, so ISIZE below the
 * compressed size means a wrap or several members: then the size is unknown. Nothing in the last
 * eight bytes proves they are a trailer (a truncated file ends in deflate data), so only sizes in
 * the range real images have are taken.
 */
export function gzipSizeFromTrailer(isize: number, storedSize: number): number | undefined {
  if (storedSize >= FOUR_GIB) return undefined;
  if (isize + 64 < storedSize) return undefined;
  if (isize > storedSize * GZIP_TRUSTED_RATIO) return undefined;
  return isize;
}

/**
 * The trailer's size is a lower bound only: in a file of several members (`cat a.gz b.gz`) it is
 * the last one's, and nothing short of decoding tells the two cases apart.
 */
export async function openGzipFile(filePath: string, storedSize: number, spec: SourceSpec): Promise<SourceReader> {
  // The trailer is read while the decoder starts at the front.
  const trailer = storedSize >= 18 ? readRange(filePath, storedSize - 4, 4) : Promise.resolve(undefined);
  trailer.catch(() => undefined); // the open's own failure comes first
  const reader = await openDecodedFile(filePath, storedSize, spec, undefined, 'gzip');
  let size: number | undefined;
  try {
    const bytes = await trailer;
    if (bytes?.length === 4) size = gzipSizeFromTrailer(bytes.readUInt32LE(0), storedSize);
  } catch (error) {
    await reader.close().catch(() => undefined);
    throw error;
  }
  // Of the gzip'd image only: a tar or zip inside has sizes of its own.
  if (size !== undefined && reader.info.formats.length === 1) reader.info.sizeAtLeast = size;
  return reader;
}
