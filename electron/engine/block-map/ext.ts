// ext2/3/4: superblocks, group descriptors, bitmaps, inode tables (and the MMP block) are always
// written; a block is skipped only when its group's block bitmap says free, or when the group is
// BLOCK_UNINIT (the kernel then derives the bitmap from the group's metadata, which we always
// write — including other groups' tables that flex_bg placed there). Each group must also agree
// with its descriptor's free count, or the whole group is written: a disagreement means the
// bitmap cannot be trusted. Bitmaps are read in disk order, so a stream sees each (flex) group's
// bitmaps before its blocks.

import { groupSpan, gdtBlocks, hasSuperBackup, inodeTableBlocks, parseExtSuperblock, parseGroupDescriptors, type ExtGroup, type ExtSuperblock } from './ext-superblock';
import type { Scan, ScanContext } from './scan';

/** Block extents [start, end) that hold metadata, sorted and merged. */
export function metadataExtents(sb: ExtSuperblock, groups: ExtGroup[]): Array<[number, number]> {
  const extents: Array<[number, number]> = [];
  const itable = inodeTableBlocks(sb);
  const baseMeta = 1 + gdtBlocks(sb) + sb.reservedGdtBlocks;
  groups.forEach((group, g) => {
    if (hasSuperBackup(sb, g)) {
      const { first } = groupSpan(sb, g);
      extents.push([first, first + baseMeta]);
    }
    extents.push([group.blockBitmap, group.blockBitmap + 1], [group.inodeBitmap, group.inodeBitmap + 1], [group.inodeTable, group.inodeTable + itable]);
  });
  if (sb.mmpBlock !== undefined) extents.push([sb.mmpBlock, sb.mmpBlock + 1]);
  extents.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const e of extents) {
    const last = merged[merged.length - 1];
    if (last && e[0] <= last[1]) last[1] = Math.max(last[1], e[1]);
    else merged.push([e[0], e[1]]);
  }
  return merged;
}

/** Parts of the block run [start, end) that no metadata extent covers. */
function minusMetadata(start: number, end: number, meta: Array<[number, number]>): Array<[number, number]> {
  let lo = 0;
  let hi = meta.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (meta[mid]![1] > start) hi = mid;
    else lo = mid + 1;
  }
  const out: Array<[number, number]> = [];
  let cursor = start;
  for (let i = lo; i < meta.length && meta[i]![0] < end; i++) {
    if (meta[i]![0] > cursor) out.push([cursor, meta[i]![0]]);
    cursor = Math.max(cursor, meta[i]![1]);
  }
  if (cursor < end) out.push([cursor, end]);
  return out;
}

/** Runs of clear bits among the first `count` bits, as [start, end) bit indexes. */
export function clearRuns(bitmap: Buffer, count: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let runStart = -1;
  for (let bit = 0; bit < count; ) {
    const byte = bitmap[bit >> 3]!;
    // Whole bytes at once when aligned: most of a bitmap is all-used or all-free.
    if ((bit & 7) === 0 && bit + 8 <= count && (byte === 0 || byte === 0xff)) {
      if (byte === 0 && runStart < 0) runStart = bit;
      if (byte === 0xff && runStart >= 0) {
        runs.push([runStart, bit]);
        runStart = -1;
      }
      bit += 8;
      continue;
    }
    const clear = (byte & (1 << (bit & 7))) === 0;
    if (clear && runStart < 0) runStart = bit;
    if (!clear && runStart >= 0) {
      runs.push([runStart, bit]);
      runStart = -1;
    }
    bit++;
  }
  if (runStart >= 0) runs.push([runStart, count]);
  return runs;
}

export function* extScan(context: ScanContext, superblock: Buffer): Scan {
  const sb = parseExtSuperblock(superblock);
  if (!sb) return;
  const base = context.bounds.start;
  const bs = sb.blockSize;
  if (sb.blocksCount * bs > context.bounds.end - base) return; // filesystem larger than its partition
  const gdtStart = (sb.firstDataBlock + 1) * bs;
  const table = yield { offset: base + gdtStart, length: sb.groupCount * sb.descSize };
  if (!table) return;
  const groups = parseGroupDescriptors(sb, table);
  if (!groups) return;
  context.recognise(sb.flavour);
  const meta = metadataExtents(sb, groups);

  const freeGroupRuns = (g: number, runs: Array<[number, number]>): void => {
    const { first } = groupSpan(sb, g);
    for (const [a, b] of runs) {
      for (const [s, e] of minusMetadata(first + a, first + b, meta)) context.free(base + s * bs, base + e * bs);
    }
  };
  const countOf = (runs: Array<[number, number]>): number => runs.reduce((n, [a, b]) => n + b - a, 0);

  // Uninitialised groups first: they need no reads.
  const order: number[] = [];
  groups.forEach((group, g) => {
    const { first, count } = groupSpan(sb, g);
    if (!group.blockUninit) {
      order.push(g);
      return;
    }
    const runs = minusMetadata(first, first + count, meta).map(([s, e]): [number, number] => [s - first, e - first]);
    if (countOf(runs) <= group.freeBlocks) freeGroupRuns(g, runs);
  });
  order.sort((a, b) => groups[a]!.blockBitmap - groups[b]!.blockBitmap);
  for (const g of order) {
    const group = groups[g]!;
    const bitmap = yield { offset: base + group.blockBitmap * bs, length: bs };
    if (!bitmap) continue; // went by unseen: this group is written in full
    const runs = clearRuns(bitmap, groupSpan(sb, g).count);
    if (countOf(runs) > group.freeBlocks) continue; // bitmap claims more free than its descriptor
    freeGroupRuns(g, runs);
  }
}
