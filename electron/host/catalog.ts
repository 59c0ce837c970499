// Reads a catalog of images from its address (catalog.list, `blockwise catalog`): the same
// downloader a flash uses (redirects followed, a silent server given up on, the byte reached named),
// at most MAX_CATALOG_BYTES of it, then parsed by shared/catalog.ts.

import { parseCatalog, type Catalog } from '../../shared/catalog';
import { BlockwiseError } from '../../shared/errors';
import { formatBytes } from '../../shared/format-bytes';
import { startDownload } from '../engine/sources/url-download';
import { shownUrl } from '../engine/sources/url-messages';

/** Raspberry Pi's catalog is ~200 KB; a catalog a hundred times larger is no catalog. */
export const MAX_CATALOG_BYTES = 16 * 1024 * 1024;
/** A catalog waits for a silent server this long (a flash waits longer: url-download.ts). */
const CATALOG_TIMEOUT_MS = 15_000;

export async function fetchCatalog(address: string, timeoutMs = CATALOG_TIMEOUT_MS): Promise<Catalog> {
  const download = await startDownload(address, timeoutMs);
  const shown = shownUrl(download.url);
  const tooLarge = () =>
    new BlockwiseError('CATALOG_INVALID', `${shown} is larger than ${formatBytes(MAX_CATALOG_BYTES)}: that is an image or an archive, not a catalog.`, { path: download.url });
  if (download.contentLength !== undefined && download.contentLength > MAX_CATALOG_BYTES) {
    download.cancel();
    throw tooLarge();
  }
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of download.body) {
      length += chunk.length;
      if (length > MAX_CATALOG_BYTES) throw tooLarge();
      parts.push(chunk);
    }
  } finally {
    download.cancel();
  }
  const parsed = parseCatalog(Buffer.concat(parts).toString('utf8'), download.url);
  if ('problem' in parsed) {
    throw new BlockwiseError('CATALOG_INVALID', `${shown} is not a catalog of images: ${parsed.problem}.`, { path: download.url });
  }
  return parsed;
}
