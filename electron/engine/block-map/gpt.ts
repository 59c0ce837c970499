// GUID partition tables: the header at LBA 1 (checked with its CRC32) and its entry array.
// The backup header and entries at the end of the image lie outside every partition, so they
// are always written.

import { crc32 } from './crc32';

export interface GptHeader {
  sectorSize: number;
  alternateLba: number;
  firstUsable: number;
  lastUsable: number;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
}

export interface GptEntry {
  type: string;
  /** First and last (inclusive) sector. */
  first: number;
  last: number;
}

const u64 = (b: Buffer, at: number): number => Number(b.readBigUInt64LE(at));

/** The header sector at LBA 1; undefined unless signature, revision, size and CRC check out. */
export function parseGptHeader(sector: Buffer, sectorSize: number): GptHeader | undefined {
  if (sector.length < 92 || sector.toString('latin1', 0, 8) !== 'EFI PART') return undefined;
  const headerSize = sector.readUInt32LE(12);
  if (headerSize < 92 || headerSize > Math.min(sector.length, sectorSize)) return undefined;
  const copy = Buffer.from(sector.subarray(0, headerSize));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== sector.readUInt32LE(16)) return undefined;
  if (u64(sector, 24) !== 1) return undefined;
  const header: GptHeader = {
    sectorSize,
    alternateLba: u64(sector, 32),
    firstUsable: u64(sector, 40),
    lastUsable: u64(sector, 48),
    entriesLba: u64(sector, 72),
    entryCount: sector.readUInt32LE(80),
    entrySize: sector.readUInt32LE(84),
    entriesCrc: sector.readUInt32LE(88),
  };
  if (header.entrySize < 128 || header.entrySize % 8 !== 0 || header.entryCount > 4096) return undefined;
  if (header.entriesLba < 2 || header.firstUsable > header.lastUsable) return undefined;
  return header;
}

/** GUIDs are stored with their first three fields little-endian. */
export function formatGuid(b: Buffer): string {
  const hex = (from: number, to: number, reverse: boolean): string => {
    const bytes = [...b.subarray(from, to)];
    return Buffer.from(reverse ? bytes.reverse() : bytes).toString('hex');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`.toUpperCase();
}

/** Non-empty entries of the array; undefined when its CRC does not match the header. */
export function parseGptEntries(header: GptHeader, array: Buffer): GptEntry[] | undefined {
  if (crc32(array) !== header.entriesCrc) return undefined;
  const entries: GptEntry[] = [];
  for (let i = 0; i < header.entryCount; i++) {
    const e = array.subarray(i * header.entrySize, (i + 1) * header.entrySize);
    if (e.subarray(0, 16).every((x) => x === 0)) continue;
    entries.push({ type: formatGuid(e.subarray(0, 16)), first: u64(e, 32), last: u64(e, 40) });
  }
  return entries;
}
