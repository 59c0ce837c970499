// tar headers: 512-byte ustar/GNU blocks, GNU long names ('L') and pax extended headers ('x').
// Pure parsing, shared by the stream decoder and the file scanner (tar-source.ts).

import { BlockwiseError } from '../../../shared/errors';

export const BLOCK = 512;

export interface TarHeader {
  name: string;
  /** Bytes of data that follow the header (before padding to 512). */
  size: number;
  /** ustar type flag: '0' file, '5' folder, 'L' long name, 'x' pax, 'S' GNU sparse… */
  type: string;
}

/** Data blocks after a header of `size` bytes. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end < 0 ? length : end);
}

/** Octal, or GNU base-256 (high bit of the first byte set) for sizes of 8 GiB and more. */
function numeric(block: Buffer, start: number, length: number): number {
  if (block[start]! & 0x80) {
    let value = BigInt(block[start]! & 0x7f);
    for (let i = 1; i < length; i++) value = (value << 8n) | BigInt(block[start + i]!);
    return Number(value);
  }
  const digits = text(block, start, length).trim();
  return digits === '' ? 0 : parseInt(digits, 8);
}

export function isZeroBlock(block: Buffer): boolean {
  return block.length === BLOCK && block.every((b) => b === 0);
}

/** Parses one header block; `offset` is its position in the tar stream, for the error. Messages name no archive: callers add it. */
export function parseTarHeader(block: Buffer, offset: number): TarHeader {
  const recorded = numeric(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  const digits = /^[0-7]+$/.test(text(block, 148, 8).trim());
  if (!digits || recorded !== sum) {
    throw new BlockwiseError('SOURCE_CORRUPT', `the tar header at byte ${offset} is damaged (checksum mismatch)`, { offset });
  }
  const name = text(block, 0, 100);
  const ustar = block.toString('latin1', 257, 262) === 'ustar';
  const prefix = ustar && block.toString('latin1', 257, 263) === 'ustar\0' ? text(block, 345, 155) : '';
  const type = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
  const size = numeric(block, 124, 12);
  // Long names and pax records are small; a huge one is damage (or a trap), not something to buffer.
  const limit = type === 'L' || type === 'x' ? 1 << 20 : Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(size) || size < 0 || size > limit) {
    throw new BlockwiseError('SOURCE_CORRUPT', `the tar header at byte ${offset} records an impossible size`, { offset });
  }
  return { name: prefix ? `${prefix}/${name}` : name, size, type };
}

/** pax extended header records ("<length> <key>=<value>\n"): the keys that matter here. */
export function parsePax(data: Buffer): { path?: string; size?: number; sparse: boolean } {
  const out: { path?: string; size?: number; sparse: boolean } = { sparse: false };
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = space < 0 ? NaN : parseInt(data.toString('latin1', at, space), 10);
    if (!(length > 0)) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'size') out.size = Number(value);
    else if (key.startsWith('GNU.sparse.')) out.sparse = true;
    at += length;
  }
  return out;
}

/** What a regular file's entry is called and holds, once its long-name/pax headers are applied. */
export interface TarEntry {
  name: string;
  size: number;
  /** Offset of the first header of this entry (its long-name or pax header if any). */
  headerOffset: number;
  /** Offset of its data. */
  dataOffset: number;
}

/** Accumulates 'L' and 'x' headers until the entry they describe arrives. */
export class TarEntryReader {
  private longName: string | undefined;
  private pax: ReturnType<typeof parsePax> | undefined;
  private groupStart: number | undefined;

  /**
   * Feeds one header (and, for 'L'/'x', its data). Returns the entry when the header is a regular
   * file, 'meta' when it only describes the next header, 'other' for folders, links and the like.
   */
  accept(header: TarHeader, offset: number, data?: Buffer): TarEntry | 'meta' | 'other' {
    this.groupStart ??= offset;
    if (header.type === 'L') {
      this.longName = text(data!, 0, data!.length);
      return 'meta';
    }
    if (header.type === 'x') {
      this.pax = parsePax(data!);
      return 'meta';
    }
    if (header.type === 'g' || header.type === 'K') return 'meta';
    const name = this.pax?.path ?? this.longName ?? header.name;
    const size = this.pax?.size ?? header.size;
    const sparse = header.type === 'S' || this.pax?.sparse === true;
    const headerOffset = this.groupStart;
    this.longName = this.pax = this.groupStart = undefined;
    if (sparse) {
      throw new BlockwiseError('SOURCE_UNSUPPORTED', `${name} is stored as a sparse file (tar -S), which Blockwise cannot unpack; extract it with tar first`, {
        offset,
      });
    }
    if (header.type !== '0' && header.type !== '7') return 'other';
    return { name, size, headerOffset, dataOffset: offset + BLOCK };
  }

  /** Whether a header of this type carries data the reader needs ('L', 'x'). */
  static needsData(header: TarHeader): boolean {
    return header.type === 'L' || header.type === 'x';
  }
}
