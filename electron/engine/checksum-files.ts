// Published checksums found beside an image, the way distributions ship them: a per-file
// `IMAGE.sha256` / `IMAGE.sha256sum`, or a folder-wide `SHA256SUMS` / `sha256sums.txt` listing
// many files (GNU `HEX  name` / `HEX *name`, or BSD `SHA256 (name) = HEX`).
//
// Decision: the engine looks these up itself when a file job carries no checksum (flash.ts via
// checksum.ts), so every host — app, browser, CLI — gets the check for free; hosts call
// findPublishedChecksum too, only to *show* what will be checked before the flash starts.
//
// Which bytes a line describes follows from the name it gives: `foo.img.xz` → the stored file
// (`of: 'file'`), `foo.img` beside our `foo.img.xz` → the decompressed image (`of: 'image'`).

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../shared/errors';
import type { ChecksumSpec } from '../../shared/flash-types';

export interface PublishedChecksum {
  spec: ChecksumSpec;
  /** The checksum file it came from. */
  file: string;
  /** The file name the checksum file gives (or the image's own name for a bare hash). */
  describes: string;
}

const COMPRESSION_SUFFIXES = ['.xz', '.gz', '.zst', '.bz2', '.zip', '.gzip', '.zstd'];
const FOLDER_FILES = ['sha256sums', 'sha256sums.txt', 'sha256sum.txt', 'sha256sums.asc'];
const HEX64 = /^[0-9a-fA-F]{64}$/;

interface Entry {
  hex: string;
  name?: string;
}

/** One entry per line that carries a SHA-256; other lines (PGP armour, comments) are skipped. */
export function parseChecksumLines(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const bsd = /^SHA256\s*\((.+)\)\s*=\s*([0-9a-fA-F]{64})$/i.exec(line);
    if (bsd) {
      entries.push({ hex: bsd[2]!.toLowerCase(), name: bsd[1]! });
      continue;
    }
    const gnu = /^\\?([0-9a-fA-F]{64})(?:\s+[* ]?(.+))?$/.exec(line);
    if (gnu) {
      const entry: Entry = { hex: gnu[1]!.toLowerCase() };
      if (gnu[2] !== undefined) entry.name = gnu[2].trim().replace(/^\*/, '');
      entries.push(entry);
    }
  }
  return entries;
}

/** Names a checksum line may give for this image, and which bytes each describes. */
function describedNames(imagePath: string): Array<{ name: string; of: ChecksumSpec['of'] }> {
  const base = path.basename(imagePath);
  const names: Array<{ name: string; of: ChecksumSpec['of'] }> = [{ name: base, of: 'file' }];
  const ext = path.extname(base).toLowerCase();
  if (COMPRESSION_SUFFIXES.includes(ext)) names.push({ name: base.slice(0, -ext.length), of: 'image' });
  return names;
}

function matchEntry(entries: Entry[], names: Array<{ name: string; of: ChecksumSpec['of'] }>): { entry: Entry; of: ChecksumSpec['of']; name: string } | undefined {
  for (const { name, of } of names) {
    const entry = entries.find((e) => e.name !== undefined && path.basename(e.name.replace(/\\/g, '/')) === name);
    if (entry) return { entry, of, name };
  }
  return undefined;
}

async function readSmallText(file: string): Promise<string | undefined> {
  const stat = await fsp.stat(file).catch(() => undefined);
  // Checksum lists are small; a huge file by that name is not one.
  if (!stat?.isFile() || stat.size > 4 * 1024 * 1024) return undefined;
  return fsp.readFile(file, 'utf8').catch(() => undefined);
}

/**
 * The SHA-256 published beside `imagePath`, or undefined when there is none. A per-image file
 * (`IMAGE.sha256`) that holds no usable hash for the image is an error, not "no checksum":
 * the publisher meant it to be checked.
 */
export async function findPublishedChecksum(imagePath: string): Promise<PublishedChecksum | undefined> {
  const dir = path.dirname(imagePath);
  const names = describedNames(imagePath);

  for (const { name, of } of names) {
    for (const suffix of ['.sha256', '.sha256sum']) {
      const file = path.join(dir, name + suffix);
      const text = await readSmallText(file);
      if (text === undefined) continue;
      const entries = parseChecksumLines(text);
      const named = matchEntry(entries, names);
      if (named) return { spec: { algorithm: 'sha256', hex: named.entry.hex, of: named.of }, file, describes: named.name };
      const bare = entries.filter((e) => e.name === undefined);
      if (entries.length === 1 || (bare.length === 1 && entries.length === bare.length)) {
        return { spec: { algorithm: 'sha256', hex: entries[0]!.hex, of }, file, describes: name };
      }
      throw new BlockwiseError(
        'CHECKSUM_MISMATCH',
        `${file} holds no SHA-256 for ${path.basename(imagePath)}${entries.length ? ` (it lists ${entries.map((e) => e.name ?? 'a bare hash').join(', ')})` : ''}. Nothing was written.`,
        { path: file },
      );
    }
  }

  const listing = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const wanted of FOLDER_FILES) {
    const found = listing.find((f) => f.toLowerCase() === wanted);
    if (!found) continue;
    const file = path.join(dir, found);
    const text = await readSmallText(file);
    if (text === undefined) continue;
    const named = matchEntry(parseChecksumLines(text), names);
    if (named) return { spec: { algorithm: 'sha256', hex: named.entry.hex, of: named.of }, file, describes: named.name };
  }
  return undefined;
}

/** Whether `hex` is a well-formed SHA-256, for hosts checking what the user pasted. */
export function isSha256Hex(hex: string): boolean {
  return HEX64.test(hex.trim());
}
