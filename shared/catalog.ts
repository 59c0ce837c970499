// Catalogs of operating systems to flash: lists of images with their addresses, sizes and SHA-256s,
// read in Raspberry Pi Imager's JSON format (`{"os_list": [...]}`, the format its own catalog and
// many vendors' use), so a maker picks "Raspberry Pi OS Lite" instead of hunting for a URL and its
// checksum. Parsing only here (no I/O): the host fetches (electron/host/catalog.ts), the renderer
// and the CLI show.

/** One line of a catalog: an image to write, or a group holding more (inline or at an address). */
export interface CatalogEntry {
  name: string;
  description?: string;
  /** The image's http(s) address; absent for a group. */
  url?: string;
  /** The SHA-256 to check it against: of the image as extracted, else of the download. */
  sha256?: string;
  /** Size of the image once extracted, and of the download, when the catalog says. */
  imageSize?: number;
  downloadSize?: number;
  /** YYYY-MM-DD, as the catalog gives it. */
  releaseDate?: string;
  /** A group's entries, when the catalog holds them inline. */
  children?: CatalogEntry[];
  /** A group whose entries are at another address (another catalog), fetched when opened. */
  childrenUrl?: string;
}

export interface Catalog {
  /** The address it was read from (after redirects). */
  url: string;
  entries: CatalogEntry[];
  /** Entries left out, and why (no usable address, a field of the wrong type): said, not hidden. */
  skipped: number;
}

/** The catalog the app opens unless told another: Raspberry Pi's (its OS, and other systems for Pi boards). */
export const DEFAULT_CATALOG_URL = 'https://downloads.raspberrypi.com/os_list_imagingutility_v4.json';

/** A catalog nests groups; deeper than this is a loop or a mistake, and is cut off. */
const MAX_DEPTH = 8;
/** More entries than any real catalog has (Raspberry Pi's: ~150): the rest is ignored. */
const MAX_ENTRIES = 5000;

const SHA256 = /^[0-9a-f]{64}$/i;

/** Why `text` is not a catalog, or the catalog; `url` is where it came from (for relative addresses and words). */
export function parseCatalog(text: string, url: string): Catalog | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    const trimmed = text.trimStart();
    if (/^<(!doctype html|html)/i.test(trimmed)) return { problem: 'it is a web page (HTML), not a catalog' };
    return { problem: 'it is not JSON' };
  }
  // A catalog, a bare list, or one group on its own (`{"name": …, "subitems": [...]}`: what some
  // vendors publish for a subitems_url).
  const list = isObject(data) ? (Array.isArray(data.os_list) ? data.os_list : data.subitems) : Array.isArray(data) ? data : undefined;
  if (!Array.isArray(list)) return { problem: 'it is JSON, but has no "os_list" list of images' };
  const counter = { entries: 0, skipped: 0 };
  const entries = parseList(list, url, 0, counter);
  if (entries.length === 0) {
    return { problem: counter.skipped > 0 ? `none of its ${counter.skipped} entries has an http(s) image address Blockwise can write` : 'its "os_list" is empty' };
  }
  return { url, entries, skipped: counter.skipped };
}

function parseList(list: unknown[], base: string, depth: number, counter: { entries: number; skipped: number }): CatalogEntry[] {
  const out: CatalogEntry[] = [];
  for (const item of list) {
    if (counter.entries >= MAX_ENTRIES) break;
    const entry = depth < MAX_DEPTH ? parseEntry(item, base, depth, counter) : undefined;
    if (entry) {
      out.push(entry);
      counter.entries++;
    } else counter.skipped++;
  }
  return out;
}

function parseEntry(item: unknown, base: string, depth: number, counter: { entries: number; skipped: number }): CatalogEntry | undefined {
  if (!isObject(item)) return undefined;
  const name = text(item.name);
  if (!name) return undefined;
  const entry: CatalogEntry = { name };
  const description = text(item.description);
  if (description) entry.description = description;
  if (Array.isArray(item.subitems)) {
    const children = parseList(item.subitems, base, depth + 1, counter);
    if (children.length === 0) return undefined;
    entry.children = children;
    return entry;
  }
  const childrenUrl = webAddress(item.subitems_url, base);
  if (childrenUrl) {
    entry.childrenUrl = childrenUrl;
    return entry;
  }
  // An image: only what can be downloaded (not Imager's own "internal://format" and the like).
  const url = webAddress(item.url, base);
  if (!url) return undefined;
  entry.url = url;
  const sha = text(item.extract_sha256) ?? text(item.image_download_sha256);
  if (sha && SHA256.test(sha)) entry.sha256 = sha.toLowerCase();
  const imageSize = size(item.extract_size);
  if (imageSize !== undefined) entry.imageSize = imageSize;
  const downloadSize = size(item.image_download_size);
  if (downloadSize !== undefined) entry.downloadSize = downloadSize;
  const released = text(item.release_date);
  if (released && /^\d{4}-\d{2}-\d{2}$/.test(released)) entry.releaseDate = released;
  return entry;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-empty string, trimmed, at most 1000 characters (a catalog is not trusted to be short). */
function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed ? trimmed.slice(0, 1000) : undefined;
}

function size(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** An http(s) address, relative ones resolved against the catalog's own. */
function webAddress(value: unknown, base: string): string | undefined {
  const given = text(value);
  if (!given) return undefined;
  try {
    const url = new URL(given, base);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Every image of a catalog's inline groups, with the names of the groups it is in (the CLI's list). */
export function flattenCatalog(entries: CatalogEntry[], path: string[] = []): { path: string[]; entry: CatalogEntry }[] {
  return entries.flatMap((entry) => (entry.children ? flattenCatalog(entry.children, [...path, entry.name]) : [{ path: [...path, entry.name], entry }]));
}
