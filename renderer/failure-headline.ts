// A few words above a failed flash's message naming what kind of failure it was, for the codes
// where the message itself is long or technical (a hash, a byte offset, an HTTP status).

import type { ErrorCode } from '../shared/errors';

const HEADLINES: Partial<Record<ErrorCode, string>> = {
  CHECKSUM_MISMATCH: 'Checksum mismatch',
  CHECKSUM_FILE_INVALID: 'The checksum file is unusable',
  DOWNLOAD_FAILED: 'The download failed',
  VERIFY_MISMATCH: 'The drive did not read back as written',
  SOURCE_CORRUPT: 'The image is damaged',
  SOURCE_TRUNCATED: 'The image is incomplete',
  SOURCE_NOT_IMAGE: 'Not a disk image',
  WRITE_IO_ERROR: 'The drive failed to write',
  IMAGE_TOO_LARGE: 'The image does not fit',
};

export function failureHeadline(code: ErrorCode): string | undefined {
  return HEADLINES[code];
}
