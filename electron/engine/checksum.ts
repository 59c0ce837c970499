// Published checksums are checked before the head (partition table) is written: a mismatching
// image is never left looking bootable. The checksum is the one the job carries (pasted by the
// user, or from a catalog) or one published beside the image, on disk or on its web server
// (checksum-files.ts). It is resolved before anything is written, so a broken checksum file
// stops the flash while the drive is still untouched.

import { BlockwiseError } from '../../shared/errors';
import type { ChecksumSpec, FlashJob } from '../../shared/flash-types';
import { findPublishedChecksum, findPublishedChecksumForUrl } from './checksum-files';
import type { SourceReader } from './sources/source';

export interface ResolvedChecksum {
  spec: ChecksumSpec;
  /** Where it came from: 'job', or the checksum file's path. */
  origin: string;
}

/** Throws INVALID_REQUEST when the job carries a checksum that is not a SHA-256: before anything is opened. */
export function checkGivenChecksum(job: FlashJob): void {
  const given = job.options.checksum;
  if (given && !/^[0-9a-f]{64}$/.test(given.hex.trim().toLowerCase())) {
    throw new BlockwiseError('INVALID_REQUEST', `"${given.hex}" is not a SHA-256 checksum (64 hexadecimal digits). Nothing was written.`);
  }
}

export async function resolveChecksum(job: FlashJob): Promise<ResolvedChecksum | undefined> {
  const given = job.options.checksum;
  if (given) {
    checkGivenChecksum(job);
    return { spec: given, origin: 'job' };
  }
  const published = job.source.kind === 'file' ? await findPublishedChecksum(job.source.path) : await findPublishedChecksumForUrl(job.source.url);
  return published && { spec: published.spec, origin: published.file };
}

/**
 * Throws CHECKSUM_MISMATCH unless the image (or the stored file, as the checksum says) hashes
 * to the expected value. Then, the download being complete and correct, a URL source may keep it.
 */
export async function checkChecksum(checksum: ResolvedChecksum | undefined, source: SourceReader, imageSha256: string, storedSha256?: string): Promise<void> {
  if (checksum) {
    const expected = checksum.spec;
    const want = expected.hex.trim().toLowerCase();
    const image = imageSha256;
    // The stored file's own SHA-256 where it differs from the image (compressed, zip, tar).
    const stored = storedSha256 ?? image;
    const candidates = expected.of === 'image' ? [image] : expected.of === 'file' ? [stored] : [image, stored];
    if (!candidates.includes(want)) {
      const published = checksum.origin === 'job' ? undefined : checksum.origin;
      const wanted = published ? `${want}, published in ${published}` : `the expected ${want}`;
      const what =
        expected.of === 'image'
          ? `The SHA-256 of the image in ${source.info.name} is ${image}, not ${wanted}`
          : expected.of === 'file' || stored === image
            ? `The SHA-256 of ${source.info.name} is ${stored}, not ${wanted}`
            : `Neither the SHA-256 of ${source.info.name} (${stored}) nor that of the image inside (${image}) is ${wanted}`;
      // Whether the drive was left incomplete is the flash's to say (an image within the held-back head sends nothing before this).
      throw new BlockwiseError('CHECKSUM_MISMATCH', `${what}. The partition table was not written.`, {
        expected: want,
        actual: expected.of === 'image' ? image : stored,
      });
    }
  }
  await source.keepDownload?.();
}
