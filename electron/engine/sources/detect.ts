// Format detection by content. Extensions lie (an .img that is really xz, a .zip renamed .img);
// magic bytes don't. Anything compressed that we cannot decode is refused, never written raw.

import * as zlib from 'node:zlib';
import type { SourceFormat } from './source';
import { vmDiskFromHead } from './vm-disks';

export type DetectedFormat =
  | { kind: 'supported'; format: SourceFormat }
  /** `advice`: what to do instead, when there is more to say than "pick another file". */
  | { kind: 'unsupported'; name: string; advice?: (fileName: string) => string; article?: 'a' | 'an' }
  | { kind: 'text' }
  | { kind: 'empty' };

interface Magic {
  bytes: number[];
  offset?: number;
}

const SUPPORTED: Array<{ format: SourceFormat; magic: Magic }> = [
  { format: 'gzip', magic: { bytes: [0x1f, 0x8b] } },
  { format: 'xz', magic: { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] } },
  { format: 'zip', magic: { bytes: [0x50, 0x4b, 0x03, 0x04] } },
  // "ustar" (POSIX "ustar\0", GNU "ustar ") at 257; pre-POSIX tars have none (isPrePosixTar).
  { format: 'tar', magic: { bytes: [0x75, 0x73, 0x74, 0x61, 0x72], offset: 257 } },
];

/** Compressed or archived images Blockwise does not decode: the command that gets the image out. */
const UNSUPPORTED: Array<{ name: string; magic: Magic; advice?: (fileName: string) => string; article?: 'a' | 'an' }> = [
  { name: '7-Zip archive', magic: { bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] }, advice: (f) => `Extract the image from it (7z x "${f}"), then open that.` },
  { name: 'RAR archive', magic: { bytes: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07] }, advice: (f) => `Extract the image from it (unrar x "${f}", or 7z x), then open that.` },
  { name: 'LZ4 stream', article: 'an', magic: { bytes: [0x04, 0x22, 0x4d, 0x18] }, advice: (f) => `Decompress it (lz4 -d "${f}"), then open the result.` },
  { name: 'LZ4 stream (legacy format)', article: 'an', magic: { bytes: [0x02, 0x21, 0x4c, 0x18] }, advice: (f) => `Decompress it (lz4 -d "${f}"), then open the result.` },
  // Android's sparse format (system.img, vendor.img from factory images): chunks, not a disk.
  {
    name: 'Android sparse image',
    article: 'an',
    magic: { bytes: [0xed, 0x26, 0xff, 0x3a] }, // 0x3AFF26ED, little-endian
    advice: (f) => `Convert it to a raw image (simg2img "${f}" raw.img), or flash it with fastboot.`,
  },
  { name: 'lzip stream', article: 'an', magic: { bytes: [0x4c, 0x5a, 0x49, 0x50] }, advice: (f) => `Decompress it (lzip -d -k "${f}"), then open the result.` },
  { name: 'lzop stream', article: 'an', magic: { bytes: [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a] }, advice: (f) => `Decompress it (lzop -d "${f}"), then open the result.` },
  { name: 'RPM package', article: 'an', magic: { bytes: [0xed, 0xab, 0xee, 0xdb] } },
  { name: 'Microsoft Cabinet (.cab) archive', magic: { bytes: [0x4d, 0x53, 0x43, 0x46, 0x00, 0x00, 0x00, 0x00] } },
  { name: 'xar archive (a macOS .pkg installer)', magic: { bytes: [0x78, 0x61, 0x72, 0x21] } },
  { name: 'empty zip archive', magic: { bytes: [0x50, 0x4b, 0x05, 0x06] } },
  { name: 'spanned zip archive', magic: { bytes: [0x50, 0x4b, 0x07, 0x08] } },
  { name: 'PDF document', magic: { bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] } },
  { name: 'PNG picture', magic: { bytes: [0x89, 0x50, 0x4e, 0x47] } },
  { name: 'JPEG picture', magic: { bytes: [0xff, 0xd8, 0xff] } },
  { name: 'ELF program', magic: { bytes: [0x7f, 0x45, 0x4c, 0x46] } },
  // Installers people download beside an image (an imager's .exe, a .deb, a .msi) and pick instead.
  { name: 'Debian package or ar archive', magic: { bytes: [0x21, 0x3c, 0x61, 0x72, 0x63, 0x68, 0x3e, 0x0a] } },
  { name: 'Windows Installer (.msi) or Office document', magic: { bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1] } },
];

function matches(head: Uint8Array, magic: Magic): boolean {
  const start = magic.offset ?? 0;
  if (head.length < start + magic.bytes.length) return false;
  return magic.bytes.every((b, i) => head[start + i] === b);
}

/**
 * Unix `compress` (.Z): 1F 9D, then a flags byte whose low five bits are the largest code width
 * (9–16) and whose bits 5–6 are unused. Two magic bytes alone are too weak a test for a disk image.
 */
function isUnixCompress(head: Uint8Array): boolean {
  if (head.length < 3 || head[0] !== 0x1f || head[1] !== 0x9d) return false;
  const flags = head[2]!;
  const bits = flags & 0x1f;
  return bits >= 9 && bits <= 16 && (flags & 0x60) === 0;
}

/**
 * zlib (pigz -z, .zz): CMF 0x78 with a FLG that makes the pair a multiple of 31 and asks for no
 * dictionary, and data that inflates. Two bytes alone would call one raw image in ~16,000 zlib.
 */
function isZlib(head: Uint8Array): boolean {
  if (head.length < 16 || head[0] !== 0x78 || ![0x01, 0x5e, 0x9c, 0xda].includes(head[1]!)) return false;
  try {
    zlib.inflateSync(head.subarray(0, 4096), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return true;
  } catch {
    return false;
  }
}

/** A script's first line ("#!/bin/sh"): shell scripts, and makeself .run installers built on one. */
function isScript(head: Uint8Array): boolean {
  const line = Buffer.from(head.subarray(0, 256)).toString('latin1');
  return /^#! ?\/[\x21-\x7e]+( [\x20-\x7e]*)?\r?\n/.test(line);
}

function isBzip2(head: Uint8Array): boolean {
  // "BZh" + block size digit '1'..'9' + the first block's magic (pi) or the end-of-stream magic.
  if (head.length < 10 || head[0] !== 0x42 || head[1] !== 0x5a || head[2] !== 0x68) return false;
  const level = head[3] ?? 0;
  if (level < 0x31 || level > 0x39) return false;
  const blockMagic = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
  const endMagic = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
  const at = (m: number[]) => m.every((b, i) => head[4 + i] === b);
  return at(blockMagic) || at(endMagic);
}

/**
 * A tar without the ustar magic: pre-POSIX (v7) tars, `tar --format=v7`. Its first header is told
 * by its checksum (the header's bytes summed, the checksum field counted as spaces), which no disk
 * image's first sector matches by chance; a name, and octal size and checksum fields besides.
 * Without this, such a tar was written to the drive headers and all, and "verified".
 */
function isPrePosixTar(head: Uint8Array): boolean {
  if (head.length < 512 || head[0] === 0) return false;
  const field = (start: number, length: number) => Buffer.from(head.subarray(start, start + length)).toString('latin1');
  const octal = /^[ \0]*[0-7]+[ \0]*$/;
  const checksum = field(148, 8);
  if (!octal.test(checksum) || !octal.test(field(124, 12))) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : head[i]!;
  return parseInt(checksum.replace(/[ \0]/g, ''), 8) === sum;
}

/**
 * Where the first zstd frame starts, or undefined when this is not zstd. zstd files may start with
 * skippable frames (magic 0x184D2A50–5F, a length, that many bytes): pzstd puts one before every
 * frame, the first too. No disk image starts with a skippable frame's magic and a length.
 */
function zstdFrameStart(head: Uint8Array): number | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let at = 0;
  let frames = 0;
  while (at + 8 <= head.length && (view.getUint32(at, true) & 0xfffffff0) >>> 0 === 0x184d2a50) {
    at += 8 + view.getUint32(at + 4, true);
    frames++;
  }
  // After a skippable frame, whatever follows is the zstd decoder's to judge (and name, if damaged):
  // written raw, a zstd file whose first frame is damaged would "verify" perfectly.
  if (frames > 0) return at;
  return at + 4 <= head.length && view.getUint32(at, true) === 0xfd2fb528 ? at : undefined;
}

/**
 * The dictionary a zstd frame at `at` needs (its ID), or 0. Such a frame decodes only with that
 * dictionary, which the file does not carry: every decoder fails on it as if it were damaged.
 */
function zstdDictionaryId(head: Uint8Array, at: number): number {
  if (head.length < at + 10) return 0;
  const descriptor = head[at + 4]!;
  const idBytes = [0, 1, 2, 4][descriptor & 3]!;
  const idAt = at + 5 + ((descriptor >> 5) & 1 ? 0 : 1); // the window byte, unless single-segment
  let id = 0;
  for (let i = idBytes - 1; i >= 0; i--) id = id * 256 + head[idAt + i]!;
  return id;
}

function zstdWithDictionary(id: number): DetectedFormat {
  return {
    kind: 'unsupported',
    name: `zstd file compressed with a dictionary (ID ${id})`,
    advice: (fileName) => `It can only be decompressed with that dictionary: zstd -d -D DICTIONARY "${fileName}", then write the result.`,
  };
}

/**
 * The legacy .lzma ("LZMA alone") header has no magic: properties byte, dictionary size, then the
 * uncompressed size (all ones when unknown), and the range coder's first byte is always 0. Checked
 * strictly, so a raw image is never mistaken for one; an .lzma renamed .xz must not be written raw.
 */
function isLzmaAlone(head: Uint8Array): boolean {
  if (head.length < 14 || head[0]! >= 9 * 5 * 5 || head[13] !== 0) return false;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const dict = view.getUint32(1, true);
  const n = 31 - Math.clz32(dict);
  const dictOk = n >= 12 && n <= 30 && (dict === 2 ** n || dict === 2 ** n + 2 ** (n - 1));
  const size = view.getBigUint64(5, true);
  return dictOk && (size === 0xffffffffffffffffn || size < 2n ** 40n);
}

/**
 * A .torrent (bencoded: "d", then keys such as "8:announce" or "4:info") is the ticket to an image,
 * not the image: its binary piece hashes keep it from reading as text, so without this it was
 * written to the drive as a few KiB of "image".
 */
function isTorrent(head: Uint8Array): boolean {
  const start = Buffer.from(head.subarray(0, 64)).toString('latin1');
  return /^d\d{1,2}:(announce|announce-list|comment|created by|creation date|encoding|info|url-list)/.test(start);
}

/** A Windows program: "MZ", and at the offset stored at byte 60 the "PE\0\0" signature. */
function isWindowsProgram(head: Uint8Array): boolean {
  if (head.length < 64 || head[0] !== 0x4d || head[1] !== 0x5a) return false;
  const pe = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(60, true);
  return pe + 4 <= head.length && head[pe] === 0x50 && head[pe + 1] === 0x45 && head[pe + 2] === 0 && head[pe + 3] === 0;
}

/**
 * Text has no NUL bytes and decodes as UTF-8; every disk image, ISO and filesystem we know has
 * NULs in its first sectors. Only whole-text heads count, so a binary image with a text boot
 * message is still an image.
 */
export function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  if (head.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.min(head.length, 65536 - 4)));
  } catch {
    return false;
  }
  return true;
}

/**
 * "WHAT is a NAME, which Blockwise cannot write." and what to do instead, for a refused format.
 * `fileName` is the file's base name, used in the advice's commands.
 */
/** Details for an error whose message already says what to do (the format's own advice): the general advice is then left out. */
export function advised(detected: { advice?: unknown }): { advised?: true } {
  return detected.advice ? { advised: true } : {};
}

export function unsupportedMessage(what: string, fileName: string, detected: { name: string; advice?: (fileName: string) => string; article?: 'a' | 'an' }): string {
  const article = detected.article ?? (/^[aeiou]/i.test(detected.name) ? 'an' : 'a');
  const advice = detected.advice ? ` ${detected.advice(fileName)}` : '';
  return `${what} is ${article} ${detected.name}, which Blockwise cannot write.${advice}`;
}

/** Classify a source by its first bytes (give at least 512; 64 KiB is better). */
export function detectFormat(head: Uint8Array, totalSize?: number): DetectedFormat {
  if (head.length === 0 || totalSize === 0) return { kind: 'empty' };
  const firstZstdFrame = zstdFrameStart(head);
  if (firstZstdFrame !== undefined) {
    const dictionary = zstdDictionaryId(head, firstZstdFrame);
    return dictionary === 0 ? { kind: 'supported', format: 'zstd' } : zstdWithDictionary(dictionary);
  }
  for (const { format, magic } of SUPPORTED) if (matches(head, magic)) return { kind: 'supported', format };
  if (isBzip2(head)) return { kind: 'supported', format: 'bzip2' };
  if (isPrePosixTar(head)) return { kind: 'supported', format: 'tar' };
  for (const { name, magic, advice, article } of UNSUPPORTED) {
    if (!matches(head, magic)) continue;
    const found: DetectedFormat = { kind: 'unsupported', name };
    if (advice) found.advice = advice;
    if (article) found.article = article;
    return found;
  }
  if (isUnixCompress(head)) {
    return { kind: 'unsupported', name: 'Unix compress (.Z) stream', article: 'a', advice: (f) => `Decompress it (gzip -d -k "${f}": gzip reads .Z files), then open the result.` };
  }
  if (isZlib(head)) return { kind: 'unsupported', name: 'zlib stream (.zz)', advice: (f) => `Decompress it (pigz -d -z -k "${f}"), then open the result.` };
  if (isScript(head)) return { kind: 'unsupported', name: 'script or self-extracting installer (#!)' };
  if (isWindowsProgram(head)) return { kind: 'unsupported', name: 'Windows program (.exe)' };
  if (isTorrent(head)) {
    return {
      kind: 'unsupported',
      name: 'BitTorrent file (.torrent)',
      advice: () => 'It only tells a BitTorrent client where to download the image: open it in one, then pick the image it downloads.',
    };
  }
  const vmDisk = vmDiskFromHead(head);
  if (vmDisk) return { kind: 'unsupported', name: vmDisk.name, advice: vmDisk.advice };
  if (isLzmaAlone(head)) {
    return { kind: 'unsupported', name: 'legacy LZMA (.lzma) stream', advice: (f) => `Decompress it (xz -d -k --format=lzma "${f}", or unlzma), then open the result.` };
  }
  if (looksLikeText(head)) return { kind: 'text' };
  return { kind: 'supported', format: 'raw' };
}

/** What a file's last suffix says it holds, for the formats people download images in. */
const FORMAT_BY_SUFFIX = new Map<string, string>(Object.entries({
  gz: 'a gzip file',
  tgz: 'a gzip file',
  xz: 'an xz file',
  txz: 'an xz file',
  zst: 'a zstd file',
  zstd: 'a zstd file',
  tzst: 'a zstd file',
  bz2: 'a bzip2 file',
  tbz2: 'a bzip2 file',
  zip: 'a zip archive',
  tar: 'a tar archive',
  '7z': 'a 7-Zip archive',
  rar: 'a RAR archive',
  lz4: 'an LZ4 file',
  lzma: 'an LZMA file',
  lz: 'an lzip file',
}));

/**
 * A start that says "disk image": a boot sector's 55 AA (MBR, GPT's protective MBR, FAT, NTFS), a
 * GPT header (512- or 4096-byte sectors), an ISO 9660 volume descriptor, an ext superblock, or a
 * squashfs one.
 */
function looksLikeDiskStart(head: Uint8Array): boolean {
  const at = (offset: number, text: string) => Buffer.from(head.subarray(offset, offset + text.length)).toString('latin1') === text;
  return (
    (head[510] === 0x55 && head[511] === 0xaa) ||
    at(512, 'EFI PART') ||
    at(4096, 'EFI PART') ||
    at(32769, 'CD001') ||
    (head[1080] === 0x53 && head[1081] === 0xef) ||
    at(0, 'hsqs')
  );
}

/**
 * Why a file whose name promises compression (os.img.xz) but whose bytes are neither that nor a
 * disk image must not be written: it is nearly always a download that never finished (a
 * preallocated file of zeros) or one damaged at its start, and written raw it "verified" perfectly.
 * A real image that a browser saved decompressed under its .gz name still starts like a disk, and
 * is written. Undefined when the name promises nothing or the bytes look like a disk. `shown`: how
 * the message names it (an address, an archive's entry), when not by `fileName`; `rename`: how to
 * get a file to rename ("download it and rename it").
 */
export function misnamedRawReason(fileName: string, head: Uint8Array, shown = fileName, rename = 'rename it'): string | undefined {
  const suffix = /\.([^./]+)$/.exec(fileName)?.[1]?.toLowerCase();
  const promised = suffix === undefined ? undefined : FORMAT_BY_SUFFIX.get(suffix);
  if (promised === undefined || looksLikeDiskStart(head)) return undefined;
  const zeros = head.every((b) => b === 0);
  const start = zeros ? `its first ${head.length >= 65536 ? '64 KiB are' : `${head.length} bytes are`} all zeros, as in a download that never finished` : 'its start is neither that nor a disk image';
  return (
    `${shown} is named as ${promised}, but ${start} ` +
    `(if it is in fact an uncompressed disk image, ${rename} to end in .img).`
  );
}
