// Published checksums are checked before the head (partition table) is written: a mismatching
// image is never left looking bootable.

import { BlockwiseError } from '../../shared/errors';
import type { FlashJob } from '../../shared/flash-types';
import type { SourceReader } from './sources/source';

export function checkChecksum(job: FlashJob, source: SourceReader, imageSha256: string): void {
  const expected = job.options.checksum;
  if (!expected) return;
  const want = expected.hex.trim().toLowerCase();
  const image = imageSha256;
  const stored = source.storedSha256?.() ?? image;
  const candidates = expected.of === 'image' ? [image] : expected.of === 'file' ? [stored] : [image, stored];
  if (candidates.includes(want)) return;
  throw new BlockwiseError(
    'CHECKSUM_MISMATCH',
    `The SHA-256 of ${source.info.name} is ${expected.of === 'file' ? stored : image}, not the expected ${want}. The partition table was not written.`,
    { driveIncomplete: true },
  );
}
