// The directory of a zip behind an http(s) address, read from its end with range requests before
// anything is downloaded or written: the images inside can be listed and chosen, the chosen one's
// size is known up front, and a zip with several images (or none) is refused before the drive is
// touched. Servers that do not serve ranges get no listing; the flash then streams as before.

import { fetchRange } from './url-download';
import { shownUrl } from './url-messages';
import { readZipDirectoryWith, type ZipEntry } from './zip-directory';

class NoRanges extends Error {}

/** The zip's entries, or undefined when the server does not answer range requests. */
export async function listZipAtUrl(address: string, storedSize: number, name: string): Promise<ZipEntry[] | undefined> {
  const read = async (position: number, length: number): Promise<Buffer> => {
    const bytes = await fetchRange(address, position, length);
    if (!bytes) throw new NoRanges();
    return bytes;
  };
  try {
    return await readZipDirectoryWith(read, storedSize, name, shownUrl(address));
  } catch (error) {
    if (error instanceof NoRanges) return undefined;
    throw error;
  }
}
