// FAT12/16/32: the boot sector, reserved sectors, every FAT copy and the FAT12/16 root directory
// are always written; a data cluster is skipped only when every FAT copy says it is free (0).
// All FATs lie before the data area, so a stream has read them before the clusters go by.

import type { Scan, ScanContext } from './scan';

export interface FatLayout {
  type: 12 | 16 | 32;
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  fatCount: number;
  sectorsPerFat: number;
  rootDirSectors: number;
  totalSectors: number;
  /** First sector of the data area (cluster 2), relative to the volume. */
  dataStart: number;
  clusterCount: number;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** Reads a FAT boot sector's BPB; undefined unless every field is sane. */
export function parseFatBootSector(sector: Buffer): FatLayout | undefined {
  if (sector.length < 512) return undefined;
  if (sector[0] !== 0xeb && sector[0] !== 0xe9) return undefined;
  if (sector.readUInt16LE(510) !== 0xaa55) return undefined;
  const bytesPerSector = sector.readUInt16LE(11);
  const sectorsPerCluster = sector[13]!;
  const reservedSectors = sector.readUInt16LE(14);
  const fatCount = sector[16]!;
  const rootEntries = sector.readUInt16LE(17);
  const totalSectors = sector.readUInt16LE(19) || sector.readUInt32LE(32);
  const sectorsPerFat = sector.readUInt16LE(22) || sector.readUInt32LE(36);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) return undefined;
  if (!isPowerOfTwo(sectorsPerCluster) || sectorsPerCluster > 128) return undefined;
  if (reservedSectors < 1 || fatCount < 1 || fatCount > 4 || sectorsPerFat < 1 || totalSectors < 1) return undefined;
  const rootDirSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataStart = reservedSectors + fatCount * sectorsPerFat + rootDirSectors;
  if (dataStart >= totalSectors) return undefined;
  const clusterCount = Math.floor((totalSectors - dataStart) / sectorsPerCluster);
  // The cluster count alone decides the FAT type (Microsoft's FAT specification).
  const type: 12 | 16 | 32 = clusterCount < 4085 ? 12 : clusterCount < 65525 ? 16 : 32;
  if (type === 32 && (rootEntries !== 0 || sector.readUInt16LE(22) !== 0)) return undefined;
  if (type !== 32 && rootEntries === 0) return undefined;
  // Every cluster needs an entry, after the two reserved ones.
  const entriesNeeded = clusterCount + 2;
  if ((sectorsPerFat * bytesPerSector * 8) / type < entriesNeeded) return undefined;
  return { type, bytesPerSector, sectorsPerCluster, reservedSectors, fatCount, sectorsPerFat, rootDirSectors, totalSectors, dataStart, clusterCount };
}

/** FAT32 and FAT16 tables are read in pieces of this size (a multiple of every entry size). */
const PIECE = 64 * 1024;

export function* fatScan(context: ScanContext, bootSector: Buffer): Scan {
  const fat = parseFatBootSector(bootSector);
  if (!fat) return;
  const base = context.bounds.start;
  const sector = fat.bytesPerSector;
  if (fat.totalSectors * sector > context.bounds.end - base) return; // volume larger than its partition
  context.recognise(`fat${fat.type}`);

  const used = new Uint8Array(Math.ceil((fat.clusterCount + 2) / 8));
  const fatBytes = fat.type === 12 ? Math.ceil(((fat.clusterCount + 2) * 3) / 2) : (fat.clusterCount + 2) * (fat.type / 8);
  for (let copy = 0; copy < fat.fatCount; copy++) {
    const fatStart = base + (fat.reservedSectors + copy * fat.sectorsPerFat) * sector;
    // FAT12 entries straddle bytes, so that (small) table is read whole.
    const piece = fat.type === 12 ? fatBytes : PIECE;
    for (let at = 0; at < fatBytes; at += piece) {
      const bytes = yield { offset: fatStart + at, length: Math.min(piece, fatBytes - at) };
      if (!bytes) return; // a FAT we could not read frees nothing
      markUsed(fat, used, bytes, at);
    }
  }

  const clusterBytes = fat.sectorsPerCluster * sector;
  const dataStart = base + fat.dataStart * sector;
  let runStart = -1;
  for (let cluster = 2; cluster < fat.clusterCount + 2; cluster++) {
    const free = (used[cluster >> 3]! & (1 << (cluster & 7))) === 0;
    if (free && runStart < 0) runStart = cluster;
    if (!free && runStart >= 0) {
      context.free(dataStart + (runStart - 2) * clusterBytes, dataStart + (cluster - 2) * clusterBytes);
      runStart = -1;
    }
  }
  if (runStart >= 0) context.free(dataStart + (runStart - 2) * clusterBytes, dataStart + fat.clusterCount * clusterBytes);
}

/** Sets the bit of every cluster whose entry in this piece of a FAT is not zero. */
function markUsed(fat: FatLayout, used: Uint8Array, bytes: Buffer, pieceOffset: number): void {
  const last = fat.clusterCount + 1;
  const set = (cluster: number): void => {
    if (cluster >= 2 && cluster <= last) used[cluster >> 3]! |= 1 << (cluster & 7);
  };
  if (fat.type === 12) {
    for (let cluster = 2; cluster <= last; cluster++) {
      const at = Math.floor((cluster * 3) / 2);
      if (at + 1 >= bytes.length) {
        set(cluster); // not in the table we read: never call it free
        continue;
      }
      const pair = bytes.readUInt16LE(at);
      const value = cluster & 1 ? pair >> 4 : pair & 0xfff;
      if (value !== 0) set(cluster);
    }
    return;
  }
  const size = fat.type / 8;
  const first = pieceOffset / size;
  for (let i = 0; i + size <= bytes.length; i += size) {
    // Any bit set, including FAT32's reserved top nibble, counts as in use.
    const value = size === 2 ? bytes.readUInt16LE(i) : bytes.readUInt32LE(i);
    if (value !== 0) set(first + i / size);
  }
}
