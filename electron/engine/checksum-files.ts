// Published checksums found beside an image, the way distributions ship them: a per-file
// `IMAGE.sha256` / `IMAGE.sha256sum` / `IMAGE.sha`, or a folder-wide `SHA256SUMS` /
// `sha256sums.txt` / `…-CHECKSUM` listing many files (GNU `HEX  name` / `HEX *name`, or BSD
// `SHA256 (name) = HEX`).
//
// Decision: the engine looks these up itself when a job carries no checksum (flash.ts via
// checksum.ts) — beside a file on disk, or beside a URL on its server — so every host (app,
// browser, CLI) gets the check for free; hosts call findPublishedChecksum(ForUrl) only to *show*
// what will be checked before the flash starts.
//
// Which bytes a line describes follows from the name it gives: `foo.img.xz` → the stored file
// (`of: 'file'`), `foo.img` beside our `foo.img.xz` → the decompressed image (`of: 'image'`).

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../shared/errors';
import type { ChecksumSpec } from '../../shared/flash-types';
import { fetchSmallFile, urlSiblings } from './sources/url-download';
import { shownUrl } from './sources/url-messages';

export interface PublishedChecksum {
  spec: ChecksumSpec;
  /** The checksum file it came from. */
  file: string;
  /** The file name the checksum file gives (or the image's own name for a bare hash). */
  describes: string;
}

const COMPRESSION_SUFFIXES = ['.xz', '.gz', '.zst', '.bz2', '.zip', '.gzip', '.zstd'];
const FOLDER_FILES = ['sha256sums', 'sha256sums.txt', 'sha256sum.txt', 'sha256sums.asc'];
/**
 * Folder-wide lists named after a release, found by listing the folder: Fedora's
 * `Fedora-Workstation-41-1.4-x86_64-CHECKSUM`, FreeBSD's `CHECKSUM.SHA256-FreeBSD-14.1-RELEASE-amd64`.
 */
const RELEASE_LIST = /(^|-)CHECKSUM$|^CHECKSUM\.SHA256/i;
/** A web folder cannot be listed: the spellings publishers use. */
const WEB_FOLDER_FILES = ['SHA256SUMS', 'sha256sums.txt', 'SHA256SUMS.txt', 'sha256sums'];
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
function describedNames(base: string): Array<{ name: string; of: ChecksumSpec['of'] }> {
  const names: Array<{ name: string; of: ChecksumSpec['of'] }> = [{ name: base, of: 'file' }];
  const ext = path.extname(base).toLowerCase();
  if (COMPRESSION_SUFFIXES.includes(ext)) names.push({ name: base.slice(0, -ext.length), of: 'image' });
  return names;
}

/**
 * The line for `name`: one naming it as it is (or `./name`) first; else one naming it in a
 * subfolder, but only when all such lines agree — `arm64/x.img.xz` and `amd64/x.img.xz` are
 * different files, and taking the first would report a false mismatch for the other.
 */
function lineFor(entries: Entry[], name: string): Entry | undefined {
  const normal = (listed: string) => listed.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
  const exact = entries.find((e) => e.name !== undefined && normal(e.name) === name);
  if (exact) return exact;
  const inFolders = entries.filter((e) => e.name !== undefined && path.posix.basename(normal(e.name)) === name);
  return inFolders.length > 0 && inFolders.every((e) => e.hex === inFolders[0]!.hex) ? inFolders[0] : undefined;
}

function matchEntry(entries: Entry[], names: Array<{ name: string; of: ChecksumSpec['of'] }>): { entry: Entry; of: ChecksumSpec['of']; name: string } | undefined {
  for (const { name, of } of names) {
    const entry = lineFor(entries, name);
    if (entry) return { entry, of, name };
  }
  return undefined;
}

/** Checksum lists are small; a huge file by that name is not one. */
const MAX_CHECKSUM_FILE = 4 * 1024 * 1024;

/**
 * A checksum file's text. Windows PowerShell 5.1 saves `Get-FileHash … > x.sha256` as UTF-16 with
 * a byte-order mark: read as UTF-8 it held "no SHA-256", and the flash was refused.
 */
export function checksumText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const even = Buffer.from(bytes.subarray(2, 2 + ((bytes.length - 2) & ~1)));
    return even.swap16().toString('utf16le');
  }
  return bytes.toString('utf8');
}

async function readSmallText(file: string): Promise<string | undefined> {
  const stat = await fsp.stat(file).catch(() => undefined);
  if (!stat?.isFile() || stat.size > MAX_CHECKSUM_FILE) return undefined;
  return fsp.readFile(file).then(checksumText, () => undefined);
}

/** Where checksum files may sit: a folder on disk or a folder on a web server. */
interface Neighbourhood {
  /** Text of the file `name` beside the image, or undefined when there is none. */
  read(name: string): Promise<string | undefined>;
  /** Names in the folder, when it can be listed (disk); else the usual names are tried. */
  list?(): Promise<string[]>;
  where(name: string): string;
  /** On disk a per-image file without a usable hash is an error; on the web it may be a soft 404. */
  strict: boolean;
}

async function findIn(place: Neighbourhood, imageName: string): Promise<PublishedChecksum | undefined> {
  const names = describedNames(imageName);
  // `.sha` (Armbian) may hold a SHA-1 elsewhere: only a SHA-256 in it counts, and none is no error.
  const perFile = names.flatMap(({ name, of }) => ['.sha256', '.sha256sum', '.sha'].map((suffix) => ({ file: name + suffix, name, of, strict: suffix !== '.sha' })));
  const listing = place.list ? await place.list() : undefined;
  const folderFiles = listing
    ? [
        ...FOLDER_FILES.map((wanted) => listing.find((f) => f.toLowerCase() === wanted)).filter((f): f is string => f !== undefined),
        ...listing.filter((f) => RELEASE_LIST.test(f)).sort(),
      ]
    : WEB_FOLDER_FILES;
  // All candidates are read at once: on the web that is one round trip, not eight.
  const texts = await Promise.all([...perFile.map((c) => place.read(c.file)), ...folderFiles.map((f) => place.read(f))]);

  for (const [i, candidate] of perFile.entries()) {
    const text = texts[i];
    if (text === undefined) continue;
    const file = place.where(candidate.file);
    const entries = parseChecksumLines(text);
    const named = matchEntry(entries, names);
    if (named) return { spec: { algorithm: 'sha256', hex: named.entry.hex, of: named.of }, file, describes: named.name };
    // A file named after the image with a single hash in it is that image's, whatever name it gives;
    // with no name to tell, it may be the hash of the file or of the image inside it (publishers do
    // both: disk.img.xz.sha256 holding the hash of disk.img), so either may match, as with --sha256.
    if (entries.length === 1) return { spec: { algorithm: 'sha256', hex: entries[0]!.hex, of: 'auto' }, file, describes: candidate.name };
    if (!place.strict || !candidate.strict) continue;
    throw new BlockwiseError(
      'CHECKSUM_FILE_INVALID',
      `${file} holds no SHA-256 for ${imageName}${entries.length ? ` (it lists ${entries.map((e) => e.name ?? 'a bare hash').join(', ')})` : ''}. Nothing was written.`,
      { path: file },
    );
  }
  for (const [j, name] of folderFiles.entries()) {
    const text = texts[perFile.length + j];
    if (text === undefined) continue;
    const named = matchEntry(parseChecksumLines(text), names);
    if (named) return { spec: { algorithm: 'sha256', hex: named.entry.hex, of: named.of }, file: place.where(name), describes: named.name };
  }
  return undefined;
}

/**
 * The SHA-256 published beside `imagePath`, or undefined when there is none. A per-image file
 * (`IMAGE.sha256`) that holds no usable hash for the image is an error, not "no checksum":
 * the publisher meant it to be checked.
 */
export async function findPublishedChecksum(imagePath: string): Promise<PublishedChecksum | undefined> {
  const dir = path.dirname(imagePath);
  return findIn(
    {
      read: (name) => readSmallText(path.join(dir, name)),
      list: () => fsp.readdir(dir).catch(() => [] as string[]),
      where: (name) => path.join(dir, name),
      strict: true,
    },
    path.basename(imagePath),
  );
}

/**
 * The SHA-256 published beside an image on the web (`URL.sha256`, `SHA256SUMS` in the same
 * folder), or undefined. Lenient: a missing, unreachable or HTML answer just means "none".
 */
export async function findPublishedChecksumForUrl(address: string): Promise<PublishedChecksum | undefined> {
  const here = urlSiblings(address);
  if (!here) return undefined;
  const { imageName, sibling } = here;
  return findIn(
    {
      read: async (name) => {
        const bytes = await fetchSmallFile(sibling(name), MAX_CHECKSUM_FILE);
        return bytes && checksumText(bytes);
      },
      where: (name) => shownUrl(sibling(name)),
      strict: false,
    },
    imageName,
  );
}

/** Whether `hex` is a well-formed SHA-256, for hosts checking what the user pasted. */
export function isSha256Hex(hex: string): boolean {
  return HEX64.test(hex.trim());
}
