// A raw image cut short (an interrupted download saved as .img) still reads, writes and verifies
// byte for byte: nothing in the bytes present is wrong. What gives it away is its own metadata: a
// filesystem (ext2/3/4, FAT, btrfs, XFS, squashfs) whose recorded size runs past the end of the
// file, an ISO 9660 volume larger than the file, or a partition that starts beyond it. Only those
// certainties are refused; a partition merely larger than the file (a shrunk filesystem inside)
// is fine.

import { BlockwiseError } from '../../../shared/errors';
import { parseExtSuperblock } from '../block-map/ext-superblock';
import { parseFatBootSector } from '../block-map/fat';
import { parseGptEntries, parseGptHeader } from '../block-map/gpt';
import { EXTENDED_TYPES, GPT_PROTECTIVE, parseBootRecord } from '../block-map/mbr';

export type ReadAt = (into: Buffer, position: number) => Promise<number>;

interface Volume {
  start: number;
  /** "partition 2", or "filesystem" for an image without a partition table. */
  label: string;
}

async function read(readAt: ReadAt, position: number, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  const n = await readAt(out, position);
  return out.subarray(0, n);
}

/**
 * The size the root filesystems of Fedora (btrfs, XFS) and appliances such as Home Assistant OS
 * (squashfs) record: a cut image whose last partition holds one of these used to be written and
 * "verified", as nothing else in it is out of place.
 */
function squashfsSize(head: Buffer): number | undefined {
  // "hsqs", version 4; bytes_used at 40 is the filesystem's length (mksquashfs pads it to 4 KiB).
  if (head.length < 48 || head.toString('latin1', 0, 4) !== 'hsqs' || head.readUInt16LE(28) !== 4) return undefined;
  return Number(head.readBigUInt64LE(40));
}

function xfsSize(head: Buffer): number | undefined {
  // "XFSB", big-endian: block size at 4, data blocks at 8.
  if (head.length < 16 || head.toString('latin1', 0, 4) !== 'XFSB') return undefined;
  const blockSize = head.readUInt32BE(4);
  if (blockSize < 512 || blockSize > 65536 || (blockSize & (blockSize - 1)) !== 0) return undefined;
  return Number(head.readBigUInt64BE(8)) * blockSize;
}

export const BTRFS_SUPER = 65536;

/** This device's size in a btrfs superblock (64 KiB in): its dev_item's total_bytes. */
function btrfsSize(superblock: Buffer): number | undefined {
  if (superblock.length < 0xd9 || superblock.toString('latin1', 0x40, 0x48) !== '_BHRfS_M' || superblock.readBigUInt64LE(0x30) !== BigInt(BTRFS_SUPER)) return undefined;
  return Number(superblock.readBigUInt64LE(0xd1));
}

/** Bytes a filesystem at `start` says it spans, when it is one we can read; undefined otherwise. */
async function filesystemSize(readAt: ReadAt, start: number): Promise<{ kind: string; size: number } | undefined> {
  const head = await read(readAt, start, 2048);
  const fat = parseFatBootSector(head.subarray(0, 512));
  if (fat) return { kind: `FAT${fat.type}`, size: fat.totalSectors * fat.bytesPerSector };
  const ext = head.length >= 2048 ? parseExtSuperblock(head.subarray(1024, 2048)) : undefined;
  if (ext) return { kind: ext.flavour, size: ext.blocksCount * ext.blockSize };
  const squashfs = squashfsSize(head);
  if (squashfs !== undefined) return { kind: 'squashfs', size: squashfs };
  const xfs = xfsSize(head);
  if (xfs !== undefined) return { kind: 'XFS', size: xfs };
  const btrfs = btrfsSize(await read(readAt, start + BTRFS_SUPER, 4096));
  if (btrfs !== undefined) return { kind: 'btrfs', size: btrfs };
  return undefined;
}

/** Where the image's filesystems start, from its partition table (or 0 for a bare one). */
export async function volumesOf(readAt: ReadAt, head: Buffer): Promise<Volume[]> {
  const bare = parseFatBootSector(head.subarray(0, 512)) || (head.length >= 2048 && parseExtSuperblock(head.subarray(1024, 2048))) || squashfsSize(head) || xfsSize(head);
  if (bare) {
    return [{ start: 0, label: 'filesystem' }];
  }
  const mbr = parseBootRecord(head.subarray(0, 512));
  // A whole-image btrfs has no partition table; its superblock is 64 KiB in.
  if (!mbr) return btrfsSize(await read(readAt, BTRFS_SUPER, 4096)) === undefined ? [] : [{ start: 0, label: 'filesystem' }];
  if (mbr.some((e) => e.type === GPT_PROTECTIVE)) {
    for (const sectorSize of [512, 4096]) {
      const header = parseGptHeader(await read(readAt, sectorSize, sectorSize), sectorSize);
      if (!header) continue;
      const entries = parseGptEntries(header, await read(readAt, header.entriesLba * sectorSize, header.entryCount * header.entrySize));
      return (entries ?? []).map((e, i) => ({ start: e.first * sectorSize, label: `partition ${i + 1}` }));
    }
    return [];
  }
  return mbr.flatMap((e, i) => (EXTENDED_TYPES.has(e.type) ? [] : [{ start: e.start * 512, label: `partition ${i + 1}` }]));
}

/** Throws SOURCE_TRUNCATED when the image's own metadata proves it is cut short. */
export async function checkRawImageComplete(readAt: ReadAt, size: number, name: string, filePath: string): Promise<void> {
  // ISO 9660: the primary volume descriptor's volume space size, in logical blocks, is the whole
  // ISO (util-linux's isosize reads the same). A hybrid ISO may be longer (an EFI partition
  // appended after it), never shorter; its partitions are then checked like any disk's.
  const pvd = await read(readAt, 16 * 2048, 2048);
  if (pvd.toString('latin1', 1, 6) === 'CD001') {
    const isoSize = pvd.length >= 130 && pvd[0] === 1 ? pvd.readUInt32LE(80) * pvd.readUInt16LE(128) : 0;
    if (isoSize > size) {
      throw new BlockwiseError('SOURCE_TRUNCATED', `${name} ends at byte ${size}, but its ISO 9660 filesystem needs it to reach byte ${isoSize}: the image is incomplete.`, {
        path: filePath,
        offset: size,
      });
    }
  }
  const head = await read(readAt, 0, 2048);
  if (head.length < 512) return;
  for (const volume of await volumesOf(readAt, head)) {
    if (volume.start >= size) {
      throw new BlockwiseError('SOURCE_TRUNCATED', `${name} ends at byte ${size}, before its ${volume.label} (from byte ${volume.start}) even starts: the image is incomplete.`, {
        path: filePath,
        offset: size,
      });
    }
    const fs = await filesystemSize(readAt, volume.start);
    if (fs && volume.start + fs.size > size) {
      throw new BlockwiseError(
        'SOURCE_TRUNCATED',
        `${name} ends at byte ${size}, but ${volume.label === 'filesystem' ? `its ${fs.kind} filesystem` : `the ${fs.kind} filesystem of ${volume.label} (from byte ${volume.start})`} needs it to reach byte ${volume.start + fs.size}: the image is incomplete.`,
        { path: filePath, offset: size },
      );
    }
  }
}
