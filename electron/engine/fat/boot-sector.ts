// The boot sector's BIOS parameter block, validated and turned into the volume's layout. The FAT
// type is decided only by the count of data clusters, as Microsoft's FAT specification says
// (not by the "FAT16   " text, which is a label).

import { FatError } from './fat-error';

export type FatType = 12 | 16 | 32;

export interface FatLayout {
  type: FatType;
  bytesPerSector: number;
  sectorsPerCluster: number;
  bytesPerCluster: number;
  fatCount: number;
  /** Sectors in one FAT copy. */
  fatSectors: number;
  /** Byte offsets from the start of the volume. */
  fatStart: number;
  /** FAT12/16: the fixed root directory region (offset, entry count); FAT32: absent. */
  rootStart: number;
  rootEntries: number;
  dataStart: number;
  /** Data clusters are numbered 2 .. clusterCount + 1. */
  clusterCount: number;
  /** FAT32: first cluster of the root directory; FAT12/16: 0. */
  rootCluster: number;
  /** FAT32: the FSInfo sector's byte offset, or undefined when there is none. */
  fsInfoAt: number | undefined;
  /** The size the boot sector gives the volume. */
  volumeBytes: number;
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

export function parseBootSector(sector: Buffer): FatLayout {
  if (sector.length < 512) throw new FatError('The boot sector is shorter than 512 bytes');
  if (sector.readUInt16LE(510) !== 0xaa55) throw new FatError('Not a FAT filesystem: the boot sector lacks the 0x55AA signature');
  const bytesPerSector = sector.readUInt16LE(11);
  const sectorsPerCluster = sector[13] ?? 0;
  const reserved = sector.readUInt16LE(14);
  const fatCount = sector[16] ?? 0;
  const rootEntries = sector.readUInt16LE(17);
  const totalSectors = sector.readUInt16LE(19) || sector.readUInt32LE(32);
  const fatSize16 = sector.readUInt16LE(22);
  const fatSectors = fatSize16 || sector.readUInt32LE(36);

  if (!isPowerOfTwo(bytesPerSector) || bytesPerSector < 512 || bytesPerSector > 4096) {
    throw new FatError(`Not a usable FAT filesystem: ${bytesPerSector} bytes per sector (expected a power of two from 512 to 4096)`);
  }
  if (!isPowerOfTwo(sectorsPerCluster) || sectorsPerCluster > 128) {
    throw new FatError(`Not a usable FAT filesystem: ${sectorsPerCluster} sectors per cluster (expected a power of two up to 128)`);
  }
  if (reserved === 0) throw new FatError('Not a usable FAT filesystem: 0 reserved sectors');
  if (fatCount < 1 || fatCount > 2) throw new FatError(`Not a usable FAT filesystem: ${fatCount} FATs (expected 1 or 2)`);
  if (fatSectors === 0) throw new FatError('Not a usable FAT filesystem: the FAT size is 0');
  if (totalSectors === 0) throw new FatError('Not a usable FAT filesystem: the sector count is 0');

  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const metaSectors = reserved + fatCount * fatSectors + rootSectors;
  if (metaSectors >= totalSectors) throw new FatError(`Not a usable FAT filesystem: its FATs and root directory (${metaSectors} sectors) fill all ${totalSectors} sectors`);
  const clusterCount = Math.floor((totalSectors - metaSectors) / sectorsPerCluster);
  const type: FatType = clusterCount < 4085 ? 12 : clusterCount < 65525 ? 16 : 32;
  if (clusterCount > 0x0ffffff5) throw new FatError(`Not a usable FAT filesystem: ${clusterCount} clusters are more than FAT32 can number`);

  const fatBits = type === 12 ? 1.5 : type === 16 ? 2 : 4;
  if (Math.ceil((clusterCount + 2) * fatBits) > fatSectors * bytesPerSector) {
    throw new FatError(`Not a usable FAT filesystem: a FAT of ${fatSectors} sectors cannot map its ${clusterCount} clusters (FAT${type})`);
  }

  // Linux goes by the layout (a FAT32 BPB has no 16-bit FAT size), Windows and the specification
  // by the cluster count: when they disagree, the two systems would read different filesystems.
  if ((fatSize16 === 0) !== (type === 32)) {
    const layout = fatSize16 === 0 ? 'FAT32' : 'FAT12/16';
    throw new FatError(`Ambiguous FAT filesystem: its boot sector is laid out as ${layout}, but its ${clusterCount} clusters make it FAT${type} by the FAT specification`);
  }

  let rootCluster = 0;
  let fsInfoAt: number | undefined;
  if (type === 32) {
    if (rootEntries !== 0) throw new FatError('Not a usable FAT32 filesystem: it has a FAT12/16 root directory size');
    const extFlags = sector.readUInt16LE(40);
    // With mirroring off, only one FAT is live and the others may be stale: refuse rather than guess.
    if (extFlags & 0x80) throw new FatError('Unsupported FAT32 filesystem: FAT mirroring is disabled (ExtFlags bit 7)');
    const version = sector.readUInt16LE(42);
    if (version !== 0) throw new FatError(`Unsupported FAT32 version ${version >> 8}.${version & 0xff}`);
    rootCluster = sector.readUInt32LE(44);
    if (rootCluster < 2 || rootCluster > clusterCount + 1) throw new FatError(`Not a usable FAT32 filesystem: root directory cluster ${rootCluster} is outside the volume`);
    const fsInfo = sector.readUInt16LE(48);
    if (fsInfo !== 0 && fsInfo !== 0xffff) {
      if (fsInfo >= reserved) throw new FatError(`Not a usable FAT32 filesystem: FSInfo sector ${fsInfo} is outside the reserved area`);
      fsInfoAt = fsInfo * bytesPerSector;
    }
  } else if (rootEntries === 0) {
    throw new FatError(`Not a usable FAT${type} filesystem: its root directory has room for 0 entries`);
  }

  return {
    type,
    bytesPerSector,
    sectorsPerCluster,
    bytesPerCluster: bytesPerSector * sectorsPerCluster,
    fatCount,
    fatSectors,
    fatStart: reserved * bytesPerSector,
    rootStart: (reserved + fatCount * fatSectors) * bytesPerSector,
    rootEntries: type === 32 ? 0 : rootEntries,
    dataStart: metaSectors * bytesPerSector,
    clusterCount,
    rootCluster,
    fsInfoAt,
    volumeBytes: totalSectors * bytesPerSector,
  };
}
