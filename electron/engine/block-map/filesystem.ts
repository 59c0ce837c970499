// Recognises the filesystem at the start of a region by its content (never by the partition
// type alone) and hands over to its parser. Nothing recognised, or two things at once: nothing
// is freed, so the region is written in full.

import { EXT_MAGIC } from './ext-superblock';
import { extScan } from './ext';
import { fatScan, parseFatBootSector } from './fat';
import type { Scan, ScanContext } from './scan';

export function* filesystemScan(context: ScanContext): Scan {
  const { start, end } = context.bounds;
  if (end - start < 2048) return;
  const head = yield { offset: start, length: 2048 };
  if (!head) return;
  const superblock = head.subarray(1024, 2048);
  const ext = superblock.readUInt16LE(0x38) === EXT_MAGIC;
  const fat = parseFatBootSector(head.subarray(0, 512)) !== undefined;
  if (ext && fat) return;
  if (ext) yield* extScan(context, superblock);
  else if (fat) yield* fatScan(context, head.subarray(0, 512));
}
