// Format detection by content. Extensions lie (an .img that is really xz, a .zip renamed .img);
// magic bytes don't. Anything compressed that we cannot decode is refused, never written raw.

import type { SourceFormat } from './source';

export type DetectedFormat =
  | { kind: 'supported'; format: SourceFormat }
  | { kind: 'unsupported'; name: string }
  | { kind: 'text' }
  | { kind: 'empty' };

interface Magic {
  bytes: number[];
  offset?: number;
}

const SUPPORTED: Array<{ format: SourceFormat; magic: Magic }> = [
  { format: 'gzip', magic: { bytes: [0x1f, 0x8b] } },
  { format: 'xz', magic: { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] } },
  // zstd: zstdFrameStart() (its frames may follow skippable ones).
  { format: 'zip', magic: { bytes: [0x50, 0x4b, 0x03, 0x04] } },
  // "ustar" (POSIX "ustar\0", GNU "ustar ") at 257; pre-POSIX tars have no magic and are not detected.
  { format: 'tar', magic: { bytes: [0x75, 0x73, 0x74, 0x61, 0x72], offset: 257 } },
];

const UNSUPPORTED: Array<{ name: string; magic: Magic }> = [
  { name: '7-Zip archive', magic: { bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] } },
  { name: 'RAR archive', magic: { bytes: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07] } },
  { name: 'LZ4 stream', magic: { bytes: [0x04, 0x22, 0x4d, 0x18] } },
  { name: 'lzip stream', magic: { bytes: [0x4c, 0x5a, 0x49, 0x50] } },
  { name: 'empty zip archive', magic: { bytes: [0x50, 0x4b, 0x05, 0x06] } },
  { name: 'spanned zip archive', magic: { bytes: [0x50, 0x4b, 0x07, 0x08] } },
  { name: 'PDF document', magic: { bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] } },
  { name: 'PNG picture', magic: { bytes: [0x89, 0x50, 0x4e, 0x47] } },
  { name: 'JPEG picture', magic: { bytes: [0xff, 0xd8, 0xff] } },
  { name: 'ELF program', magic: { bytes: [0x7f, 0x45, 0x4c, 0x46] } },
];

function matches(head: Uint8Array, magic: Magic): boolean {
  const start = magic.offset ?? 0;
  if (head.length < start + magic.bytes.length) return false;
  return magic.bytes.every((b, i) => head[start + i] === b);
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
 * Where the first zstd frame starts: 0, or past the skippable frames (magic 0x184D2A50-5F, then a
 * 4-byte length) that pzstd writes before every frame and other tools fill with metadata. Written
 * raw, such a file's compressed bytes would have "verified" perfectly. A head that is nothing but
 * skippable frames counts as zstd too (it then decodes to nothing, and is refused as empty).
 * undefined: not zstd; at or past the head's end: skippable frames run beyond what was read.
 */
function zstdFrameStart(head: Uint8Array): number | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let pos = 0;
  while (pos + 8 <= head.length && (view.getUint32(pos, true) & 0xfffffff0) >>> 0 === 0x184d2a50) {
    pos += 8 + view.getUint32(pos + 4, true);
  }
  // After a skippable frame, whatever follows is the zstd decoder's to judge (and name, if damaged).
  if (pos > 0) return pos;
  return head.length >= 4 && view.getUint32(0, true) === 0xfd2fb528 ? 0 : undefined;
}

/**
 * The dictionary a zstd frame was made with (0: none). Such a frame decodes only with that
 * dictionary, which no image file carries: refused by name rather than reported as damage.
 */
function zstdDictionaryId(head: Uint8Array, frame: number): number {
  const descriptor = head[frame + 4];
  if (descriptor === undefined) return 0;
  const size = [0, 1, 2, 4][descriptor & 3]!;
  const at = frame + 5 + ((descriptor >> 5) & 1 ? 0 : 1);
  if (size === 0 || at + size > head.length) return 0;
  let id = 0;
  for (let i = size - 1; i >= 0; i--) id = id * 256 + head[at + i]!;
  return id;
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

/** Classify a source by its first bytes (give at least 512; 64 KiB is better). */
export function detectFormat(head: Uint8Array, totalSize?: number): DetectedFormat {
  if (head.length === 0 || totalSize === 0) return { kind: 'empty' };
  const zstdFrame = zstdFrameStart(head);
  if (zstdFrame !== undefined) {
    const dictionary = zstdDictionaryId(head, zstdFrame);
    if (dictionary !== 0) return { kind: 'unsupported', name: `zstd stream made with a dictionary (ID ${dictionary}) that is not inside it` };
    return { kind: 'supported', format: 'zstd' };
  }
  for (const { format, magic } of SUPPORTED) if (matches(head, magic)) return { kind: 'supported', format };
  if (isBzip2(head)) return { kind: 'supported', format: 'bzip2' };
  for (const { name, magic } of UNSUPPORTED) if (matches(head, magic)) return { kind: 'unsupported', name };
  if (isLzmaAlone(head)) return { kind: 'unsupported', name: 'legacy LZMA (.lzma) stream' };
  if (looksLikeText(head)) return { kind: 'text' };
  return { kind: 'supported', format: 'raw' };
}
