// What a failed flash (or one failed drive of several) means for the person: a few words naming
// the kind of failure where the message itself is long or technical, the message, what to do
// next, and whether flashing the same image to the same drive again could work at all.

import type { ErrorCode, SerializedError } from '../shared/errors';
import { adviceFor, ERROR_ADVICE } from '../shared/errors';
import { driveTitle, formatBytesExact } from './format';

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

/**
 * Refusals that depend on the image or the drive, not on a passing fault: the same image on the
 * same drive fails the same way, so "Try again" is not offered. (A write-protect switch, a busy
 * drive or a flaky port can change between tries, so those stay retryable.)
 */
const NOT_RETRYABLE = new Set<ErrorCode>([
  'TARGET_NOT_FOUND',
  'TARGET_CHANGED',
  'TARGET_NOT_ALLOWED',
  'IMAGE_TOO_LARGE',
  'SOURCE_UNREADABLE',
  'SOURCE_EMPTY',
  'SOURCE_UNSUPPORTED',
  'SOURCE_CORRUPT',
  'SOURCE_TRUNCATED',
  'SOURCE_NOT_IMAGE',
  'ARCHIVE_NO_IMAGE',
  'ARCHIVE_AMBIGUOUS',
  'ARCHIVE_ENTRY_NOT_FOUND',
  'CHECKSUM_MISMATCH',
  'CHECKSUM_FILE_INVALID',
  'BMAP_INVALID',
  'SYSTEM_DRIVE',
  'SOURCE_ON_TARGET',
  'INVALID_REQUEST',
]);

const ENDS_IN_SYSTEM_WORDS = new Set<ErrorCode>(['WRITE_IO_ERROR', 'READ_IO_ERROR', 'INTERNAL']);

export function isRetryable(code: ErrorCode): boolean {
  return !NOT_RETRYABLE.has(code);
}

/** The drive as the scanner described it when it was chosen. */
export interface FailedDrive {
  path: string;
  model: string;
  size: number;
}

export interface Explanation {
  headline?: string;
  message: string;
  advice: string;
  retryable: boolean;
}

/**
 * A drive that said "full" before the capacity it claims: not a drive too small for the image, but
 * one that holds less than it says (a counterfeit) or is failing. `imageSize` rules out the honest
 * case of an image bigger than the drive.
 */
export function filledEarly(error: SerializedError, drive: FailedDrive | undefined, imageSize: number | undefined): number | undefined {
  const offset = error.details?.offset;
  if (error.code !== 'IMAGE_TOO_LARGE' || typeof offset !== 'number' || !drive || drive.size <= 0) return undefined;
  if (offset >= drive.size) return undefined;
  if (imageSize !== undefined && imageSize > drive.size) return undefined;
  return offset;
}

export function explainFailure(error: SerializedError, drive: FailedDrive | undefined, imageSize: number | undefined): Explanation {
  const early = filledEarly(error, drive, imageSize);
  if (early !== undefined && drive) {
    const name = `${driveTitle(drive)} (${drive.path})`;
    return {
      headline: 'The drive filled up early',
      message: `${name} stopped taking data at ${formatBytesExact(early)}, although it claims to hold ${formatBytesExact(drive.size)}.`,
      advice:
        'It may be a counterfeit drive that reports more space than it has, or it is failing. Check its real capacity with “Check for fake capacity” in the target list, and use another drive.',
      retryable: false,
    };
  }
  const offset = error.details?.offset;
  if (error.code === 'IMAGE_TOO_LARGE' && drive && drive.size > 0 && typeof offset === 'number' && offset >= drive.size) {
    // Found out while writing (the image's size was not known before): the drive really is too small.
    return {
      headline: 'The image does not fit',
      message: `${driveTitle(drive)} (${drive.path}) holds ${formatBytesExact(drive.size)}, and the image goes on past that.`,
      advice: ERROR_ADVICE.IMAGE_TOO_LARGE,
      retryable: false,
    };
  }
  const headline = failureHeadline(error.code);
  // An I/O error's message ends in the system's words ("EIO: i/o error, write"), without a full stop.
  const message = /[.!?]$/.test(error.message.trim()) || !ENDS_IN_SYSTEM_WORDS.has(error.code) ? error.message : `${error.message.trim()}.`;
  return {
    ...(headline ? { headline } : {}),
    message,
    advice: adviceFor(error),
    retryable: isRetryable(error.code),
  };
}
