// ext2/3/4 superblock and group descriptors: where each group's metadata lives and what the
// feature flags allow us to conclude. Any feature whose effect on block allocation we do not
// model (bigalloc, meta_bg, snapshots, a journal needing recovery...) means "write it all".

export interface ExtSuperblock {
  blockSize: number;
  blocksCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  inodeSize: number;
  groupCount: number;
  descSize: number;
  reservedGdtBlocks: number;
  sparseSuper: boolean;
  /** Group descriptors carry checksums, so BLOCK_UNINIT flags are honoured by the kernel. */
  groupChecksums: boolean;
  hasJournal: boolean;
  mmpBlock: number | undefined;
  /** ext2, ext3 or ext4, for the planner's name. */
  flavour: string;
}

export interface ExtGroup {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocks: number;
  blockUninit: boolean;
}

const COMPAT_OK = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x400 | 0x800 | 0x1000;
// filetype, extents, 64bit, mmp, flex_bg, ea_inode, csum_seed, largedir, inline_data, encrypt, casefold
const INCOMPAT_OK = 0x2 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000;
// sparse_super, large_file, btree_dir, huge_file, gdt_csum, dir_nlink, extra_isize, quota, metadata_csum, readonly, project, verity
const RO_COMPAT_OK = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x400 | 0x1000 | 0x2000 | 0x8000;

export const EXT_MAGIC = 0xef53;

/** The 1024-byte superblock at byte 1024 of the volume; undefined if not ext or not safe to map. */
export function parseExtSuperblock(sb: Buffer): ExtSuperblock | undefined {
  if (sb.length < 1024 || sb.readUInt16LE(0x38) !== EXT_MAGIC) return undefined;
  const state = sb.readUInt16LE(0x3a);
  if ((state & 1) === 0 || (state & 2) !== 0) return undefined; // not cleanly unmounted, or has errors
  const logBlock = sb.readUInt32LE(0x18);
  if (logBlock > 6) return undefined;
  const blockSize = 1024 << logBlock;
  const revLevel = sb.readUInt32LE(0x4c);
  const compat = revLevel === 0 ? 0 : sb.readUInt32LE(0x5c);
  const incompat = revLevel === 0 ? 0 : sb.readUInt32LE(0x60);
  const roCompat = revLevel === 0 ? 0 : sb.readUInt32LE(0x64);
  if ((compat & ~COMPAT_OK) !== 0 || (incompat & ~INCOMPAT_OK) !== 0 || (roCompat & ~RO_COMPAT_OK) !== 0) return undefined;
  const is64 = (incompat & 0x80) !== 0;
  const blocksCount = sb.readUInt32LE(0x4) + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  const firstDataBlock = sb.readUInt32LE(0x14);
  const blocksPerGroup = sb.readUInt32LE(0x20);
  const inodesPerGroup = sb.readUInt32LE(0x28);
  const inodeSize = revLevel === 0 ? 128 : sb.readUInt16LE(0x58);
  if (firstDataBlock !== (blockSize === 1024 ? 1 : 0)) return undefined;
  if (blocksPerGroup < 8 || blocksPerGroup > blockSize * 8 || blocksPerGroup % 8 !== 0) return undefined;
  if (inodesPerGroup < 1 || inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) return undefined;
  if (blocksCount <= firstDataBlock || !Number.isSafeInteger(blocksCount * blockSize)) return undefined;
  const descSize = is64 ? sb.readUInt16LE(0xfe) : 32;
  if (descSize < 32 || descSize > 1024 || (descSize & (descSize - 1)) !== 0 || (is64 && descSize < 64)) return undefined;
  const hasJournal = (compat & 0x4) !== 0;
  const flavour = (incompat & ~0x2) !== 0 || (roCompat & ~0x7) !== 0 ? 'ext4' : hasJournal ? 'ext3' : 'ext2';
  return {
    blockSize,
    blocksCount,
    firstDataBlock,
    blocksPerGroup,
    inodesPerGroup,
    inodeSize,
    groupCount: Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup),
    descSize,
    reservedGdtBlocks: (compat & 0x10) !== 0 ? sb.readUInt16LE(0xce) : 0,
    sparseSuper: (roCompat & 0x1) !== 0,
    groupChecksums: (roCompat & (0x10 | 0x400)) !== 0,
    hasJournal,
    mmpBlock: (incompat & 0x100) !== 0 ? Number(sb.readBigUInt64LE(0x168)) : undefined,
    flavour,
  };
}

export function parseGroupDescriptors(sb: ExtSuperblock, table: Buffer): ExtGroup[] | undefined {
  const groups: ExtGroup[] = [];
  const wide = sb.descSize >= 64;
  for (let g = 0; g < sb.groupCount; g++) {
    const d = table.subarray(g * sb.descSize, (g + 1) * sb.descSize);
    if (d.length < sb.descSize) return undefined;
    const hi = (at: number): number => (wide ? d.readUInt32LE(at) * 2 ** 32 : 0);
    const group: ExtGroup = {
      blockBitmap: d.readUInt32LE(0x0) + hi(0x20),
      inodeBitmap: d.readUInt32LE(0x4) + hi(0x24),
      inodeTable: d.readUInt32LE(0x8) + hi(0x28),
      freeBlocks: d.readUInt16LE(0xc) + (wide ? d.readUInt16LE(0x2c) * 65536 : 0),
      blockUninit: sb.groupChecksums && (d.readUInt16LE(0x12) & 0x2) !== 0,
    };
    const itableEnd = group.inodeTable + inodeTableBlocks(sb);
    if (group.blockBitmap >= sb.blocksCount || group.inodeBitmap >= sb.blocksCount || itableEnd > sb.blocksCount) return undefined;
    if (group.blockBitmap < sb.firstDataBlock || group.inodeBitmap < sb.firstDataBlock || group.inodeTable < sb.firstDataBlock) return undefined;
    groups.push(group);
  }
  return groups;
}

export function inodeTableBlocks(sb: ExtSuperblock): number {
  return Math.ceil((sb.inodesPerGroup * sb.inodeSize) / sb.blockSize);
}

export function gdtBlocks(sb: ExtSuperblock): number {
  return Math.ceil((sb.groupCount * sb.descSize) / sb.blockSize);
}

function isPowerOf(n: number, base: number): boolean {
  let x = base;
  while (x < n) x *= base;
  return x === n;
}

/** Whether group `g` carries a superblock and group-descriptor backup. */
export function hasSuperBackup(sb: ExtSuperblock, g: number): boolean {
  if (g <= 1 || !sb.sparseSuper) return true;
  return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

/** First block and block count of group `g`. */
export function groupSpan(sb: ExtSuperblock, g: number): { first: number; count: number } {
  const first = sb.firstDataBlock + g * sb.blocksPerGroup;
  return { first, count: Math.min(sb.blocksPerGroup, sb.blocksCount - first) };
}
