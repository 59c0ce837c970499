// The .xz container (tukaani.org/xz/xz-file-format.txt), just enough of it to: read the image size
// from the index at the end of a file, find block boundaries in a stream, and wrap one block
// into a stand-alone .xz stream that any whole-buffer decoder can decode on another thread.

import { BlockwiseError } from '../../../shared/errors';

export const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const FOOTER_MAGIC = Buffer.from([0x59, 0x5a]);
export const STREAM_HEADER_SIZE = 12;

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC32 of the small structures (headers, index); the decoder checks the data itself. */
export function crc32(data: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

export function corrupt(message: string): BlockwiseError {
  return new BlockwiseError('SOURCE_CORRUPT', message);
}

/** Size of the check field for the check type in the stream flags (0 none, 1 CRC32, 4 CRC64, 10 SHA-256). */
export function checkSize(checkType: number): number {
  if (checkType === 0) return 0;
  return 4 << Math.floor((checkType - 1) / 3);
}

/** Returns the check type of a stream header, refusing a damaged one. */
export function parseStreamHeader(header: Buffer): number {
  if (!header.subarray(0, 6).equals(XZ_MAGIC)) throw corrupt('an xz stream header is missing');
  if (crc32(header.subarray(6, 8)) !== header.readUInt32LE(8)) throw corrupt('an xz stream header is damaged (CRC32)');
  if (header[6] !== 0 || (header[7]! & 0xf0) !== 0) throw corrupt('an xz stream header has unknown flags');
  return header[7]! & 0x0f;
}

/** Multibyte integer; returns [value, bytes used] or undefined when `buf` ends first. */
export function readVarint(buf: Uint8Array, at: number): [number, number] | undefined {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    const byte = buf[at + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  throw corrupt('an xz size field is malformed');
}

function writeVarint(value: number, out: number[]): void {
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

export interface BlockHeader {
  headerSize: number;
  compressedSize?: number;
  uncompressedSize?: number;
  /** Filter IDs, first to last: 0x21 LZMA2, 0x03 delta, 0x04–0x0b the BCJ filters (x86, ARM…). */
  filters: number[];
}

export const LZMA2_FILTER = 0x21;

export function parseBlockHeader(header: Buffer): BlockHeader {
  const headerSize = (header[0]! + 1) * 4;
  if (crc32(header.subarray(0, headerSize - 4)) !== header.readUInt32LE(headerSize - 4)) throw corrupt('an xz block header is damaged (CRC32)');
  const flags = header[1]!;
  let at = 2;
  const result: BlockHeader = { headerSize, filters: [] };
  const varint = (): number => {
    const v = readVarint(header.subarray(0, headerSize - 4), at);
    if (!v) throw corrupt('an xz block header is cut short');
    at += v[1];
    return v[0];
  };
  if (flags & 0x40) result.compressedSize = varint();
  if (flags & 0x80) result.uncompressedSize = varint();
  for (let i = 0; i <= (flags & 0x03); i++) {
    result.filters.push(varint());
    at += varint(); // the filter's properties
  }
  return result;
}

/**
 * One block as a whole .xz stream: stream header, the block as stored, a one-record index and
 * a footer. `block` is header + compressed data + padding + check, exactly as in the file.
 */
export function wrapBlock(checkType: number, block: Buffer, unpaddedSize: number, uncompressedSize: number): Buffer {
  const flags = Buffer.from([0, checkType]);
  const header = Buffer.alloc(STREAM_HEADER_SIZE);
  XZ_MAGIC.copy(header);
  flags.copy(header, 6);
  header.writeUInt32LE(crc32(flags), 8);
  const index: number[] = [0, 1];
  writeVarint(unpaddedSize, index);
  writeVarint(uncompressedSize, index);
  while (index.length % 4 !== 0) index.push(0);
  const indexBuf = Buffer.alloc(index.length + 4);
  Buffer.from(index).copy(indexBuf);
  indexBuf.writeUInt32LE(crc32(Buffer.from(index)), index.length);
  const footer = Buffer.alloc(12);
  footer.writeUInt32LE(indexBuf.length / 4 - 1, 4);
  flags.copy(footer, 8);
  FOOTER_MAGIC.copy(footer, 10);
  footer.writeUInt32LE(crc32(footer.subarray(4, 10)), 0);
  return Buffer.concat([header, block, indexBuf, footer]);
}

export interface IndexRecord {
  unpaddedSize: number;
  uncompressedSize: number;
}

/** Parses an index (starting at its 0x00 indicator) including its CRC32. */
export function parseIndex(index: Buffer): IndexRecord[] {
  if (index[0] !== 0) throw corrupt('the xz index is missing');
  if (crc32(index.subarray(0, index.length - 4)) !== index.readUInt32LE(index.length - 4)) throw corrupt('the xz index is damaged (CRC32)');
  const count = readVarint(index, 1);
  if (!count) throw corrupt('the xz index is cut short');
  let at = 1 + count[1];
  const records: IndexRecord[] = [];
  for (let i = 0; i < count[0]; i++) {
    const unpadded = readVarint(index, at);
    if (!unpadded) throw corrupt('the xz index is cut short');
    const uncompressed = readVarint(index, at + unpadded[1]);
    if (!uncompressed) throw corrupt('the xz index is cut short');
    at += unpadded[1] + uncompressed[1];
    records.push({ unpaddedSize: unpadded[0], uncompressedSize: uncompressed[0] });
  }
  return records;
}

/** Parses a stream footer: returns the index size and check type. */
export function parseFooter(footer: Buffer): { indexSize: number; checkType: number } {
  if (!footer.subarray(10, 12).equals(FOOTER_MAGIC)) throw corrupt('the xz stream footer is missing (the file may be truncated)');
  if (crc32(footer.subarray(4, 10)) !== footer.readUInt32LE(0)) throw corrupt('the xz stream footer is damaged (CRC32)');
  return { indexSize: (footer.readUInt32LE(4) + 1) * 4, checkType: footer[9]! & 0x0f };
}
