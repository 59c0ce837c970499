// The root of every block map: reads the partition table (GPT, or MBR with its logical
// partitions) and starts a filesystem parser for each partition whose type we know. The tables,
// the gaps between partitions and partitions of other types are never freed, so they are written.
// A table that contradicts itself (overlaps, entries over the table) frees nothing at all.

import type { Range } from '../write-planner';
import { filesystemScan } from './filesystem';
import { parseGptEntries, parseGptHeader, type GptEntry } from './gpt';
import { EXTENDED_TYPES, GPT_PROTECTIVE, parseBootRecord, type MbrEntry } from './mbr';
import type { ReadRequest, Scan, ScanContext } from './scan';

/** MBR types that hold FAT or Linux filesystems; their content is still checked before mapping. */
const MBR_MAPPED = new Set([0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e, 0x83, 0xef]);

const GPT_MAPPED = new Set([
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', // EFI system
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', // Microsoft basic data (FAT)
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4', // Linux filesystem
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', // Linux root (x86-64)
  '44479540-F297-41B2-9AF7-D131D5F0458A', // Linux root (x86)
  'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', // Linux root (ARM64)
  '69DAD710-2CE4-4E3C-B16C-21A1D49ABED3', // Linux root (ARM)
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915', // Linux /home
  '3B8F8425-20E0-4F3B-907F-1A25A76F98E8', // Linux /srv
  '4D21B016-B534-45C2-A9FB-5C16E091FD2D', // Linux /var
  'BC13C2FF-59E6-4262-A352-B275FD6F7172', // Linux extended boot
]);

const SECTOR = 512;

/** True when any two ranges overlap. */
export function overlapping(ranges: Range[]): boolean {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.start < sorted[i - 1]!.end) return true;
  return false;
}

/** Starts a filesystem parser for a partition, unless it runs past the end of the image. */
function mapPartition(context: ScanContext, range: Range): void {
  if (context.imageSize !== undefined && range.end > context.imageSize) return;
  context.spawn(range, filesystemScan);
}

/** ISO 9660 volume descriptor ("CD001" in sector 16 of 2048 bytes). */
const ISO_MAGIC_AT = 16 * 2048 + 1;

export function* imageLayout(context: ScanContext): Scan {
  const start = yield { offset: 0, length: ISO_MAGIC_AT + 5 };
  const head = start ?? (yield { offset: 0, length: SECTOR });
  if (!head) return;
  // A hybrid ISO's partitions may lie inside files of the ISO filesystem (an ESP image listed in
  // its checksums): skipping their free clusters would change those files. ISOs are written whole.
  if (start?.toString('latin1', ISO_MAGIC_AT, ISO_MAGIC_AT + 5) === 'CD001') return;
  const mbr = parseBootRecord(head.subarray(0, SECTOR));
  if (mbr?.some((e) => e.type === GPT_PROTECTIVE)) {
    yield* gptLayout(context, head);
    return;
  }
  if (mbr && mbr.length > 0) {
    yield* mbrLayout(context, mbr);
    return;
  }
  // No table: the whole image may be one filesystem (a "superfloppy" or a bare rootfs.ext4).
  yield* filesystemScan(context);
}

/** Bytes from the already-read start of the image when it covers them (a stream cannot go back). */
function* bytesAt(head: Buffer, offset: number, length: number): Generator<ReadRequest, Buffer | undefined, Buffer | undefined> {
  if (offset + length <= head.length) return head.subarray(offset, offset + length);
  return yield { offset, length };
}

function* gptLayout(context: ScanContext, head: Buffer): Scan {
  for (const sectorSize of [512, 4096]) {
    const sector = yield* bytesAt(head, sectorSize, sectorSize);
    if (!sector) return;
    const header = parseGptHeader(sector, sectorSize);
    if (!header) continue;
    const array = yield* bytesAt(head, header.entriesLba * sectorSize, header.entryCount * header.entrySize);
    if (!array) return;
    const entries = parseGptEntries(header, array);
    if (!entries) return;
    context.recognise('gpt');
    const tableEnd = header.entriesLba + Math.ceil((header.entryCount * header.entrySize) / sectorSize);
    // The backup entries sit just before the backup header; no partition may reach them.
    const backupStart = header.alternateLba > 1 ? header.alternateLba - Math.ceil((header.entryCount * header.entrySize) / sectorSize) : Infinity;
    const valid = (e: GptEntry): boolean =>
      e.first <= e.last && e.first >= header.firstUsable && e.first >= tableEnd && e.last <= header.lastUsable && e.last < backupStart;
    if (!entries.every(valid)) return;
    const ranges = entries.map((e) => ({ start: e.first * sectorSize, end: (e.last + 1) * sectorSize }));
    if (overlapping(ranges)) return;
    entries.forEach((e, i) => {
      if (GPT_MAPPED.has(e.type)) mapPartition(context, ranges[i]!);
    });
    return;
  }
}

function* mbrLayout(context: ScanContext, entries: MbrEntry[]): Scan {
  const ranges = entries.map((e) => ({ start: e.start * SECTOR, end: (e.start + e.count) * SECTOR }));
  // Nothing may cover the MBR itself, and at most one extended partition may exist.
  if (ranges.some((r) => r.start < SECTOR) || overlapping(ranges)) return;
  const extended = entries.filter((e) => EXTENDED_TYPES.has(e.type));
  if (extended.length > 1) return;
  context.recognise('mbr');
  entries.forEach((e, i) => {
    if (MBR_MAPPED.has(e.type)) mapPartition(context, ranges[i]!);
  });
  const container = extended[0];
  if (container) yield* logicalPartitions(context, container);
}

/**
 * Walks the EBR chain. Each EBR must lie after the previous logical partition and inside the
 * extended partition, and each logical partition after its EBR: so the chain cannot loop or
 * overlap, and a broken link merely leaves the rest of the extended partition written in full.
 */
function* logicalPartitions(context: ScanContext, container: MbrEntry): Scan {
  const containerEnd = container.start + container.count;
  let ebr = container.start;
  for (let n = 0; n < 256; n++) {
    const sector = yield { offset: ebr * SECTOR, length: SECTOR };
    if (!sector) return;
    const links = parseBootRecord(sector);
    if (!links) return;
    const logical = links.find((e) => !EXTENDED_TYPES.has(e.type));
    const next = links.find((e) => EXTENDED_TYPES.has(e.type));
    let after = ebr + 1;
    if (logical) {
      const start = ebr + logical.start;
      const end = start + logical.count;
      if (start <= ebr || end > containerEnd) return;
      if (MBR_MAPPED.has(logical.type)) mapPartition(context, { start: start * SECTOR, end: end * SECTOR });
      after = end;
    }
    if (!next) return;
    const nextEbr = container.start + next.start;
    if (nextEbr < after || nextEbr >= containerEnd) return;
    ebr = nextEbr;
  }
}
