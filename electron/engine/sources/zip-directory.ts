// The zip central directory (with zip64), read from the end of a file, and the choice of which
// entry is the disk image.

import { BlockwiseError } from '../../../shared/errors';
import { readRange } from './decoded-file';
import { isMacMetadata, looksLikeImageEntry, looksLikeImageName } from './image-names';

export { isMacMetadata, looksLikeImageEntry, looksLikeImageName };

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** zip64 extended information: the fields that were 0xFFFFFFFF in the header, in order. */
function applyZip64(extra: Buffer, entry: ZipEntry): void {
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === 0x0001) {
      let p = at + 4;
      const next = () => {
        const v = Number(extra.readBigUInt64LE(p));
        p += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    at += 4 + length;
  }
}

const END_RECORD = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

/**
 * Where the end-of-directory record starts in the archive's last bytes, or -1. The last signature
 * whose whole record (22 bytes and the comment it declares) fits before the end: the comment may
 * itself hold the signature's bytes, and a file cut short leaves only part of a record.
 */
function findEndRecord(tail: Buffer): number {
  let fallback = -1;
  for (let at = tail.lastIndexOf(END_RECORD); at >= 0; at = at === 0 ? -1 : tail.lastIndexOf(END_RECORD, at - 1)) {
    if (at + 22 > tail.length) continue;
    const end = at + 22 + tail.readUInt16LE(at + 20);
    if (end === tail.length) return at;
    // Bytes after the comment (some tools pad archives): kept as a last resort.
    if (end < tail.length && fallback < 0) fallback = at;
  }
  return fallback;
}

/** Reads `length` bytes at `position` of the archive (fewer only at its end). */
export type RangeReader = (position: number, length: number) => Promise<Buffer>;

export function readZipDirectory(filePath: string, storedSize: number, name: string): Promise<ZipEntry[]> {
  return readZipDirectoryWith((position, length) => readRange(filePath, position, length), storedSize, name, filePath);
}

/** The central directory of a zip of `storedSize` bytes, read through `read` (a file, or HTTP ranges). */
export async function readZipDirectoryWith(read: RangeReader, storedSize: number, name: string, filePath: string): Promise<ZipEntry[]> {
  const tailLength = Math.min(storedSize, 65557);
  const tail = await read(storedSize - tailLength, tailLength);
  const eocdAt = findEndRecord(tail);
  if (eocdAt < 0) {
    throw new BlockwiseError('SOURCE_TRUNCATED', `${name} is a zip archive without its directory at the end: it stops at byte ${storedSize}, short of it.`, {
      path: filePath,
      offset: storedSize,
    });
  }
  let count = tail.readUInt16LE(eocdAt + 10);
  let cdSize = tail.readUInt32LE(eocdAt + 12);
  let cdOffset = tail.readUInt32LE(eocdAt + 16);
  const locatorAt = eocdAt - 20;
  if (locatorAt >= 0 && tail.readUInt32LE(locatorAt) === 0x07064b50) {
    const zip64At = Number(tail.readBigUInt64LE(locatorAt + 8));
    const zip64 = await read(zip64At, 56);
    if (zip64.readUInt32LE(0) === 0x06064b50) {
      count = Number(zip64.readBigUInt64LE(32));
      cdSize = Number(zip64.readBigUInt64LE(40));
      cdOffset = Number(zip64.readBigUInt64LE(48));
    }
  }
  if (cdOffset + cdSize > storedSize) {
    throw new BlockwiseError('SOURCE_CORRUPT', `The directory of ${name} points past its end.`, { path: filePath, offset: cdOffset });
  }
  const cd = await read(cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== 0x02014b50) {
      throw new BlockwiseError('SOURCE_CORRUPT', `The directory of ${name} is damaged (entry ${i + 1} of ${count}).`, { path: filePath, offset: cdOffset + at });
    }
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    const entry: ZipEntry = {
      name: cd.toString('utf8', at + 46, at + 46 + nameLength),
      flags: cd.readUInt16LE(at + 8),
      method: cd.readUInt16LE(at + 10),
      crc32: cd.readUInt32LE(at + 16),
      compressedSize: cd.readUInt32LE(at + 20),
      size: cd.readUInt32LE(at + 24),
      localHeaderOffset: cd.readUInt32LE(at + 42),
    };
    applyZip64(cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), entry);
    entries.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * Of entries sharing a name, the last: the one extracting the archive leaves. `tar -r`/`-u` append
 * a newer version after the old one; unzip -o and Python's zipfile also take the last. Choosing by
 * name used to take the first, so the stale image was written and "verified".
 */
export function latestOfEachName<E extends { name: string }>(entries: E[]): E[] {
  const last = new Map<string, number>();
  entries.forEach((e, i) => last.set(e.name, i));
  return entries.filter((e, i) => last.get(e.name) === i);
}

/** Entries that could be the disk image: by name (extension, or a piped zip's "-"), else any file of 1 MiB or more. */
export function imageCandidates<E extends { name: string; size: number }>(entries: E[]): E[] {
  const files = latestOfEachName(entries).filter((e) => !e.name.endsWith('/') && !isMacMetadata(e.name));
  const named = files.filter((e) => looksLikeImageEntry(e.name));
  return named.length > 0 ? named : files.filter((e) => e.size >= 1 << 20);
}

/** The entry to write: the one asked for, or the only candidate. */
export function chooseZipEntry<E extends { name: string; size: number }>(entries: E[], archive: string, wanted?: string): E {
  if (wanted !== undefined) {
    const found = latestOfEachName(entries).find((e) => e.name === wanted);
    if (!found) {
      const listed = entries.slice(0, 10).map((e) => e.name).join(', ');
      const more = entries.length > 10 ? `, and ${entries.length - 10} more` : '';
      throw new BlockwiseError('ARCHIVE_ENTRY_NOT_FOUND', `${archive} has no entry named ${wanted} (it contains: ${listed || 'nothing'}${more}).`, { path: archive });
    }
    return found;
  }
  const candidates = imageCandidates(entries);
  if (candidates.length === 0) {
    const listed = entries.slice(0, 10).map((e) => e.name).join(', ');
    throw new BlockwiseError('ARCHIVE_NO_IMAGE', `${archive} holds no disk image (it contains: ${listed || 'nothing'}).`, { path: archive });
  }
  if (candidates.length > 1) {
    const names = candidates.map((e) => e.name);
    throw new BlockwiseError('ARCHIVE_AMBIGUOUS', `${archive} holds several images: ${names.join(', ')}.`, {
      path: archive,
      entries: names.join('\n'),
    });
  }
  return candidates[0]!;
}
