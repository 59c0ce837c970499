// What the renderer shows about an image at a web address before anything is written: the name
// (Content-Disposition, else the address), the size the server announces, the format sniffed from
// the first bytes (the same detection a flash uses), and a checksum published beside it. Only the
// head of the body is read; the socket is then closed, so inspecting never downloads the image.

import * as path from 'node:path';
import type { ImageInfo } from '../../shared/contract';
import { BlockwiseError } from '../../shared/errors';
import { findPublishedChecksumForUrl } from '../engine/checksum-files';
import { advised, detectFormat, unsupportedMessage } from '../engine/sources/detect';
import { startDownload } from '../engine/sources/url-download';
import { shownUrl } from '../engine/sources/url-messages';
import { listZipAtUrl } from '../engine/sources/url-zip';
import { chooseZipEntry, imageCandidates } from '../engine/sources/zip-directory';

/** Enough for every magic number detectFormat knows (ISO's is at 32 KiB). */
const HEAD_BYTES = 64 * 1024;
/** Inspecting waits for a silent server this long; a flash waits longer (url-download.ts). */
const INSPECT_TIMEOUT_MS = 15_000;

/** The file name a Content-Disposition header gives (RFC 6266: filename* wins), if any. */
export function dispositionName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*[^']*'[^']*'([^;]+)/i.exec(header);
  if (extended) {
    try {
      return path.posix.basename(decodeURIComponent(extended[1]!.trim()));
    } catch {
      /* a badly encoded name: fall back to the plain one */
    }
  }
  const plain = /filename\s*=\s*(?:"([^"]*)"|([^;]+))/i.exec(header);
  const name = (plain?.[1] ?? plain?.[2])?.trim();
  return name ? path.posix.basename(name.replace(/\\/g, '/')) : undefined;
}

/** The last segment of the address's path, decoded; the host name when the path has none. */
export function urlName(address: string): string {
  const url = new URL(address);
  const last = url.pathname.split('/').filter(Boolean).pop();
  if (!last) return url.hostname;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** Formats by name, for when the server sends too few bytes to tell (never trusted over content). */
function formatsByName(name: string): string[] {
  const ext = path.extname(name).toLowerCase();
  const known: Record<string, string> = { '.gz': 'gzip', '.xz': 'xz', '.zst': 'zstd', '.bz2': 'bzip2', '.zip': 'zip', '.tar': 'tar', '.iso': 'iso' };
  return [known[ext] ?? 'raw'];
}

async function readHead(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  // Leaving the loop early closes the response (the body's finally), so the rest never arrives.
  for await (const chunk of body) {
    parts.push(chunk);
    length += chunk.length;
    if (length >= HEAD_BYTES) break;
  }
  return Buffer.concat(parts).subarray(0, HEAD_BYTES);
}

/**
 * A zip's images, listed from its directory (HTTP ranges): several to choose from, the chosen or
 * only one with its size. Nothing is added when the server does not serve ranges.
 */
async function describeZip(info: ImageInfo, downloadUrl: string, storedSize: number, entry: string | undefined): Promise<void> {
  const entries = await listZipAtUrl(downloadUrl, storedSize, info.name);
  if (!entries) return;
  const candidates = imageCandidates(entries);
  if (entry === undefined && candidates.length > 1) {
    info.entries = candidates.map((e) => e.name);
    return;
  }
  const chosen = chooseZipEntry(entries, info.name, entry);
  info.entry = chosen.name;
  // Its size is the image's unless it is compressed itself (a zip of an .img.xz).
  if (!/\.(gz|xz|zst|bz2|zip|tar)$/i.test(chosen.name)) info.imageSize = chosen.size;
}

export async function inspectUrl(address: string, entry?: string): Promise<ImageInfo> {
  // The checksum lookup runs alongside; it is lenient and never fails the inspection.
  const published = findPublishedChecksumForUrl(address).catch(() => undefined);
  const download = await startDownload(address, INSPECT_TIMEOUT_MS);
  let head: Buffer;
  try {
    head = await readHead(download.body);
  } finally {
    download.cancel();
  }
  // Messages name the address with any password in it masked.
  const shown = shownUrl(address);
  // The bytes decide: download scripts send images as text/html; the type only names what text is.
  const typedAsPage = /^(text\/html|application\/xhtml)/i.test(download.contentType ?? '');

  const name = dispositionName(download.contentDisposition) ?? urlName(download.url);
  const detected = detectFormat(head, download.contentLength);
  if (detected.kind === 'empty') throw new BlockwiseError('SOURCE_EMPTY', `${shown} is empty (0 bytes).`, { path: shown });
  if (detected.kind === 'text') {
    // A sign-in or "you are being redirected" page sent as octet-stream: say what the flash would say.
    if (typedAsPage || /<html|<!doctype html/i.test(head.toString('utf8', 0, 1024))) {
      throw new BlockwiseError('SOURCE_NOT_IMAGE', `${shown} is a web page (HTML), not a disk image. Copy the link of the image file itself, not of the page offering it.`, {
        path: shown,
        offset: 0,
      });
    }
    throw new BlockwiseError('SOURCE_NOT_IMAGE', `${shown} is text, not a disk image (its first bytes are readable characters).`, { path: shown, offset: 0 });
  }
  if (detected.kind === 'unsupported') {
    const instead = detected.advice ? '' : ' Use an .img, .iso, or one compressed with gzip, xz, zstd, bzip2, zip or tar.';
    throw new BlockwiseError('SOURCE_UNSUPPORTED', `${unsupportedMessage(shown, name, detected)}${instead}`, {
      path: shown,
      ...advised(detected),
    });
  }
  const formats = head.length >= 512 ? [detected.format] : formatsByName(name);
  const info: ImageInfo = { url: address, name, storedSize: download.contentLength ?? 0, formats };
  if (download.contentLength !== undefined && detected.format === 'raw') info.imageSize = download.contentLength;
  if (download.contentLength !== undefined && detected.format === 'zip') await describeZip(info, download.url, download.contentLength, entry);
  // A link that redirects (a "latest" link, a mirror) has its checksum beside the file it leads
  // to, as the flash finds it.
  const checksum = (await published) ?? (download.url !== address ? await findPublishedChecksumForUrl(download.url).catch(() => undefined) : undefined);
  if (checksum) {
    info.checksum = checksum.spec.hex;
    info.checksumFile = path.posix.basename(new URL(checksum.file).pathname);
  }
  return info;
}
