// Finds the partition a FAT filesystem lives in (a Raspberry Pi OS card's boot partition) from the
// disk's MBR, or from its GPT when the MBR is only the protective 0xEE one. Read-only.

import { parseBootSector } from './boot-sector';
import { FatError } from './fat-error';
import type { SectorIO } from './sector-io';

export interface FatPartition {
  /** Byte offset of the partition from the start of the disk. */
  start: number;
  /** Size in bytes. */
  size: number;
  scheme: 'mbr' | 'gpt';
  /** 1-based, as Linux numbers them (sdX1, mmcblk0p1). */
  number: number;
  /** MBR type byte ('0x0c') or GPT type GUID (uppercase). */
  type: string;
}

export interface PartitionOptions {
  /** Logical sector size of the disk: LBAs count in these (default 512). */
  sectorSize?: number;
  /** Disk size in bytes, when known: partitions must end inside it. */
  diskSize?: number;
}

const FAT_MBR_TYPES = new Set([0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e]);
const PROTECTIVE_MBR = 0xee;
const GPT_BASIC_DATA = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';
const GPT_EFI_SYSTEM = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const FAT_GPT_TYPES = new Set([GPT_BASIC_DATA, GPT_EFI_SYSTEM]);

export async function findFatPartition(io: SectorIO, options: PartitionOptions = {}): Promise<FatPartition> {
  const sectorSize = options.sectorSize ?? 512;
  if (![512, 1024, 2048, 4096].includes(sectorSize)) throw new FatError(`Unsupported disk sector size ${sectorSize}`);
  const mbr = Buffer.alloc(sectorSize);
  await io.read(mbr, 0);
  if (mbr.readUInt16LE(510) !== 0xaa55) {
    throw new FatError('The disk has no partition table: its first sector lacks the 0x55AA signature');
  }
  const entries = [0, 1, 2, 3].map((i) => {
    const at = 446 + i * 16;
    return { number: i + 1, status: mbr[at] ?? 0, type: mbr[at + 4] ?? 0, first: mbr.readUInt32LE(at + 8), count: mbr.readUInt32LE(at + 12) };
  });
  const used = entries.filter((e) => e.type !== 0);
  // A FAT filesystem written to the whole disk (a "superfloppy") also ends its first sector in
  // 0x55AA; where the table would be it has boot code, text, or zeros.
  if (used.length === 0 && isFatBootSector(mbr)) throw new FatError('The disk has no partition table: it starts with a FAT boot sector (it is not partitioned)');
  if (entries.some((e) => e.status !== 0 && e.status !== 0x80)) {
    const superfloppy = isFatBootSector(mbr) ? ': it starts with a FAT boot sector (it is not partitioned)' : ' (its first sector holds no valid MBR)';
    throw new FatError(`The disk has no partition table${superfloppy}`);
  }
  if (entries.some((e) => e.type === PROTECTIVE_MBR)) return findInGpt(io, sectorSize, options.diskSize);
  if (used.length === 0) throw new FatError('The partition table (MBR) lists no partitions');
  for (const entry of used) {
    if (!FAT_MBR_TYPES.has(entry.type)) continue;
    const start = entry.first * sectorSize;
    const size = entry.count * sectorSize;
    if (entry.first === 0 || entry.count === 0) throw new FatError(`MBR partition ${entry.number} is empty or starts at sector 0`);
    checkInside(`MBR partition ${entry.number}`, start, size, options.diskSize);
    return { start, size, scheme: 'mbr', number: entry.number, type: `0x${entry.type.toString(16).padStart(2, '0')}` };
  }
  const types = used.map((e) => `${e.number}: 0x${e.type.toString(16).padStart(2, '0')}`).join(', ');
  throw new FatError(`No FAT partition in the MBR (partition types ${types}; FAT is 0x01, 0x04, 0x06, 0x0b, 0x0c or 0x0e)`);
}

async function findInGpt(io: SectorIO, sectorSize: number, diskSize: number | undefined): Promise<FatPartition> {
  const header = Buffer.alloc(sectorSize);
  await io.read(header, sectorSize);
  if (header.toString('latin1', 0, 8) !== 'EFI PART') {
    throw new FatError('The MBR is a protective one (type 0xEE) but there is no GPT header at LBA 1');
  }
  const headerSize = header.readUInt32LE(12);
  if (headerSize < 92 || headerSize > sectorSize) throw new FatError(`The GPT header size ${headerSize} is invalid`);
  const stored = header.readUInt32LE(16);
  const copy = Buffer.from(header.subarray(0, headerSize));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== stored) throw new FatError('The primary GPT header is corrupt (CRC mismatch); the backup header is not consulted');

  const tableLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const entrySize = header.readUInt32LE(84);
  if (entrySize < 128 || entrySize % 8 !== 0 || count > 65536) {
    throw new FatError(`The GPT partition array is invalid (${count} entries of ${entrySize} bytes)`);
  }
  const bytes = count * entrySize;
  const table = Buffer.alloc(Math.ceil(bytes / sectorSize) * sectorSize);
  await io.read(table, tableLba * sectorSize);
  if (crc32(table.subarray(0, bytes)) !== header.readUInt32LE(88)) throw new FatError('The GPT partition array is corrupt (CRC mismatch)');

  let listed = 0;
  for (let i = 0; i < count; i++) {
    const entry = table.subarray(i * entrySize, (i + 1) * entrySize);
    const type = guidString(entry.subarray(0, 16));
    if (type === '00000000-0000-0000-0000-000000000000') continue;
    listed++;
    if (!FAT_GPT_TYPES.has(type)) continue;
    const first = Number(entry.readBigUInt64LE(32));
    const last = Number(entry.readBigUInt64LE(40));
    if (first === 0 || last < first) throw new FatError(`GPT partition ${i + 1} has an invalid range (LBA ${first} to ${last})`);
    const start = first * sectorSize;
    const size = (last - first + 1) * sectorSize;
    checkInside(`GPT partition ${i + 1}`, start, size, diskSize);
    return { start, size, scheme: 'gpt', number: i + 1, type };
  }
  throw new FatError(
    listed === 0 ? 'The GPT lists no partitions' : `No FAT partition in the GPT (none of its ${listed} partitions is Microsoft basic data or EFI system)`,
  );
}

function isFatBootSector(sector: Buffer): boolean {
  if (sector[0] !== 0xeb && sector[0] !== 0xe9) return false;
  try {
    parseBootSector(sector);
    return true;
  } catch {
    return false;
  }
}

function checkInside(what: string, start: number, size: number, diskSize: number | undefined): void {
  if (diskSize !== undefined && start + size > diskSize) {
    throw new FatError(`${what} (bytes ${start} to ${start + size}) extends past the end of the disk (${diskSize} bytes)`);
  }
}

/** A GUID as text: the first three fields are stored little-endian, the rest as bytes. */
function guidString(b: Buffer): string {
  const hex = (from: number, to: number) => b.subarray(from, to).toString('hex');
  const le = (from: number, to: number) => Buffer.from(b.subarray(from, to)).reverse().toString('hex');
  return `${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${hex(8, 10)}-${hex(10, 16)}`.toUpperCase();
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected 0xEDB88320), as GPT uses; zlib.crc32 is not in every Node 20. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = (crcTable[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
