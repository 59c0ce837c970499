// File names on FAT: the 8.3 short name every entry has, and the VFAT long name stored before it
// in extra entries. Short names are made as Microsoft's FAT specification describes ("basis name"
// plus a ~N numeric tail when the long name does not fit 8.3 or lost characters). Only ASCII goes
// into short names; anything else becomes '_' and the long name keeps the real text.

import { FatError } from './fat-error';

/** Characters a short name may hold besides A-Z and 0-9. */
const SHORT_EXTRA = new Set("$%'-_@~`!(){}^#&");
/** Characters no FAT name may hold (besides control characters). */
const NEVER = new Set('"*/:<>?\\|');
export const MAX_LONG_NAME = 255;

const isShortChar = (c: string) => (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || SHORT_EXTRA.has(c);

/** Throws unless `name` can be a file name in a FAT directory. */
export function checkLongName(name: string): void {
  if (name.length === 0) throw new FatError('A file name cannot be empty');
  if (name.length > MAX_LONG_NAME) throw new FatError(`The file name "${name.slice(0, 40)}…" is ${name.length} characters long; FAT allows ${MAX_LONG_NAME}`);
  for (const c of name) {
    if (c.charCodeAt(0) < 0x20 || NEVER.has(c)) {
      throw new FatError(`The file name ${JSON.stringify(name)} contains ${JSON.stringify(c)}, which FAT does not allow`);
    }
  }
  // Windows silently drops trailing dots and spaces, so such a name would not read back as given.
  if (name.endsWith('.') || name.endsWith(' ')) throw new FatError(`The file name ${JSON.stringify(name)} ends with a dot or a space, which FAT does not keep`);
}

/** True for a name that is already a valid upper-case 8.3 name: it needs no long-name entries. */
export function isPlainShortName(name: string): boolean {
  const dot = name.indexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  const ext = dot < 0 ? '' : name.slice(dot + 1);
  if (base.length < 1 || base.length > 8 || ext.length > 3 || (dot >= 0 && ext.length === 0)) return false;
  return [...base, ...ext].every(isShortChar);
}

/** The 11 bytes of a short name: base padded to 8, extension padded to 3. */
export function rawShortName(base: string, ext: string): Buffer {
  return Buffer.from(base.padEnd(8, ' ') + ext.padEnd(3, ' '), 'latin1');
}

/**
 * A short name for `longName` that none of `taken` (11-byte names as latin1 text) already uses.
 */
export function makeShortName(longName: string, taken: ReadonlySet<string>): Buffer {
  if (isPlainShortName(longName)) {
    const dot = longName.indexOf('.');
    const raw = dot < 0 ? rawShortName(longName, '') : rawShortName(longName.slice(0, dot), longName.slice(dot + 1));
    if (!taken.has(raw.toString('latin1'))) return raw;
  }
  let lossy = false;
  // Character by character: an upper case that is longer ('ß' → 'SS') would change the length.
  const convert = (text: string) =>
    [...text]
      .map((c) => {
        const upper = c.toUpperCase();
        if (upper.length === 1 && isShortChar(upper)) return upper;
        lossy = true;
        return '_';
      })
      .join('');
  // Spaces go, then leading dots; the base stops at the first dot, the extension follows the last.
  const stripped = longName.replace(/ /g, '').replace(/^\.+/, '');
  const lastDot = stripped.lastIndexOf('.');
  const firstDot = stripped.indexOf('.');
  const basePart = firstDot < 0 ? stripped : stripped.slice(0, firstDot);
  const extPart = lastDot < 0 ? '' : stripped.slice(lastDot + 1);
  const base = convert(basePart).slice(0, 8) || '_';
  const ext = convert(extPart).slice(0, 3);
  const fits = !lossy && isPlainShortName(longName.toUpperCase());
  if (fits && !taken.has(rawShortName(base, ext).toString('latin1'))) return rawShortName(base, ext);

  for (let n = 1; n <= 999999; n++) {
    const tail = `~${n}`;
    const candidate = rawShortName(base.slice(0, 8 - tail.length) + tail, ext);
    if (!taken.has(candidate.toString('latin1'))) return candidate;
  }
  throw new FatError(`No free short name is left for "${longName}"`);
}

/** The checksum of a short name that each of its long-name entries carries. */
export function shortNameChecksum(raw: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + (raw[i] ?? 0)) & 0xff;
  return sum;
}

/** How a short name reads: "BASE.EXT", lower-cased where the entry's NT case bits say so. */
export function shortNameText(raw: Uint8Array, caseBits = 0): string {
  const bytes = Buffer.from(raw.subarray(0, 11));
  if (bytes[0] === 0x05) bytes[0] = 0xe5; // 0x05 stands for a real 0xE5 (0xE5 itself marks "deleted")
  let base = bytes.toString('latin1', 0, 8).trimEnd();
  let ext = bytes.toString('latin1', 8, 11).trimEnd();
  if (caseBits & 0x08) base = base.toLowerCase();
  if (caseBits & 0x10) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

/** Where a long-name entry keeps its 13 UTF-16 characters. */
const LFN_CHAR_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
export const LFN_ATTRIBUTE = 0x0f;

/** The long-name entries for `name`, in the order they are stored (last part first). */
export function longNameEntries(name: string, checksum: number): Buffer[] {
  const count = Math.ceil(name.length / 13);
  const entries: Buffer[] = [];
  for (let part = count; part >= 1; part--) {
    const entry = Buffer.alloc(32);
    entry[0] = part | (part === count ? 0x40 : 0);
    entry[11] = LFN_ATTRIBUTE;
    entry[13] = checksum;
    LFN_CHAR_OFFSETS.forEach((at, i) => {
      const index = (part - 1) * 13 + i;
      // After the name: one 0x0000 terminator, then 0xFFFF padding.
      const unit = index < name.length ? name.charCodeAt(index) : index === name.length ? 0 : 0xffff;
      entry.writeUInt16LE(unit, at);
    });
    entries.push(entry);
  }
  return entries;
}

/** The characters one long-name entry holds (up to its terminator). */
export function longNamePart(entry: Uint8Array): string {
  const view = Buffer.from(entry.buffer, entry.byteOffset, entry.length);
  let text = '';
  for (const at of LFN_CHAR_OFFSETS) {
    const unit = view.readUInt16LE(at);
    if (unit === 0) break;
    text += String.fromCharCode(unit);
  }
  return text;
}
