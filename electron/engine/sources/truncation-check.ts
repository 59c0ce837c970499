// A raw image cut short (an interrupted download saved as .img) still reads, writes and verifies
// byte for byte: nothing in the bytes present is wrong. What gives it away is its own metadata: a
// filesystem (ext2/3/4, FAT) whose recorded size runs past the end of the file, or a partition
// that starts beyond it. Only those certainties are refused; a partition merely larger than the
// file (a shrunk filesystem inside) is fine, and ISO images are left alone.

import { BlockwiseError } from '../../../shared/errors';
import { parseExtSuperblock } from '../block-map/ext-superblock';
import { parseFatBootSector } from '../block-map/fat';
import { parseGptEntries, parseGptHeader } from '../block-map/gpt';
import { EXTENDED_TYPES, GPT_PROTECTIVE, parseBootRecord } from '../block-map/mbr';

type ReadAt = (into: Buffer, position: number) => Promise<number>;

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

/** Bytes a filesystem at `start` says it spans, when it is one we can read; undefined otherwise. */
async function filesystemSize(readAt: ReadAt, start: number): Promise<{ kind: string; size: number } | undefined> {
  const head = await read(readAt, start, 2048);
  const fat = parseFatBootSector(head.subarray(0, 512));
  if (fat) return { kind: `FAT${fat.type}`, size: fat.totalSectors * fat.bytesPerSector };
  const ext = head.length >= 2048 ? parseExtSuperblock(head.subarray(1024, 2048)) : undefined;
  if (ext) return { kind: ext.flavour, size: ext.blocksCount * ext.blockSize };
  return undefined;
}

async function volumesOf(readAt: ReadAt, head: Buffer): Promise<Volume[]> {
  if (parseFatBootSector(head.subarray(0, 512)) || (head.length >= 2048 && parseExtSuperblock(head.subarray(1024, 2048)))) {
    return [{ start: 0, label: 'filesystem' }];
  }
  const mbr = parseBootRecord(head.subarray(0, 512));
  if (!mbr) return [];
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
  const iso = await read(readAt, 16 * 2048 + 1, 5);
  if (iso.toString('latin1') === 'CD001') return;
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
