// Stable error codes and the words a person reads for each.
// Errors cross worker, helper-process and IPC boundaries as plain JSON ({code, message, details});
// the code is the contract, the message is for humans and may be rewritten freely.

export const ERROR_CODES = [
  'TARGET_BUSY',
  'TARGET_READ_ONLY',
  'TARGET_NOT_FOUND',
  'TARGET_CHANGED',
  'TARGET_NOT_ALLOWED',
  'PERMISSION_DENIED',
  'IMAGE_TOO_LARGE',
  'WRITE_IO_ERROR',
  'READ_IO_ERROR',
  'VERIFY_MISMATCH',
  'SOURCE_UNREADABLE',
  'SOURCE_EMPTY',
  'SOURCE_UNSUPPORTED',
  'SOURCE_CORRUPT',
  'SOURCE_TRUNCATED',
  'SOURCE_NOT_IMAGE',
  'ARCHIVE_NO_IMAGE',
  'ARCHIVE_AMBIGUOUS',
  'ARCHIVE_ENTRY_NOT_FOUND',
  'DOWNLOAD_FAILED',
  'CHECKSUM_MISMATCH',
  'CHECKSUM_FILE_INVALID',
  'BMAP_INVALID',
  'CATALOG_INVALID',
  'SYSTEM_DRIVE',
  'SOURCE_ON_TARGET',
  'UNMOUNT_FAILED',
  'ELEVATION_DECLINED',
  'INVALID_REQUEST',
  'CANCELLED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Extra facts an error may carry; every field optional, all JSON-safe. */
export interface ErrorDetails {
  /** Byte offset in the image or on the device where the problem was found. */
  offset?: number;
  /** Device path or file path the error concerns. */
  path?: string;
  /** Set when a write had started: the drive's contents are now incomplete. */
  driveIncomplete?: boolean;
  /** Underlying OS error code, e.g. EBUSY. */
  syscode?: string;
  [key: string]: string | number | boolean | undefined;
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
}

/** What to do next, per code: shown under the error in the app and after it in the CLI. */
export const ERROR_ADVICE: Record<ErrorCode, string> = {
  TARGET_BUSY: 'Close programs using the drive and unmount its partitions, then try again.',
  TARGET_READ_ONLY: 'The drive is write-protected. Slide the lock switch on the card or adapter, or pick another drive.',
  TARGET_NOT_FOUND: 'The drive is gone. Plug it back in and select it again.',
  TARGET_CHANGED: 'The device now belongs to a different drive. Select the drive again from the list.',
  TARGET_NOT_ALLOWED: 'Pick a removable drive that is not the system disk.',
  PERMISSION_DENIED: 'Writing to drives needs administrator rights. Approve the prompt, or run with sudo.',
  IMAGE_TOO_LARGE: 'Use a larger drive.',
  WRITE_IO_ERROR: 'The drive failed to store data. Try another port or card reader; the card may be failing.',
  READ_IO_ERROR: 'The drive could not be read back. Try another port or card reader; the card may be failing.',
  VERIFY_MISMATCH: 'The drive did not keep what was written. It may be failing or counterfeit; try another drive.',
  SOURCE_UNREADABLE: 'Check that the image file exists and that you may read it.',
  SOURCE_EMPTY: 'Download it again, or pick the image you meant.',
  SOURCE_UNSUPPORTED: 'Blockwise writes raw disk images (.img, .iso), also compressed (.gz, .xz, .zst, .bz2) or inside a .zip or .tar: extract or convert the image to one of these first.',
  SOURCE_CORRUPT: 'The image is damaged. Download it again.',
  SOURCE_TRUNCATED: 'The image ends early. The download was probably incomplete: download it again.',
  SOURCE_NOT_IMAGE: 'Pick the .img, .iso or compressed image you downloaded.',
  ARCHIVE_NO_IMAGE: 'The archive holds no disk image. Check that you downloaded the right file.',
  ARCHIVE_AMBIGUOUS: 'Choose which one to write.',
  ARCHIVE_ENTRY_NOT_FOUND: 'Give the entry’s name exactly as the archive lists it, or leave the entry out to write the image itself.',
  DOWNLOAD_FAILED: 'Check the address and your connection, then try again.',
  CHECKSUM_MISMATCH: 'The image is not the one the checksum describes. Download it again.',
  CHECKSUM_FILE_INVALID: 'Download the checksum file again, or delete it and give the SHA-256 yourself (--sha256, or “Check against a SHA-256” in the app).',
  BMAP_INVALID: 'The .bmap file beside the image is damaged. Delete it, or download it again.',
  CATALOG_INVALID: 'Check the catalog’s address: it must lead to a list of images in Raspberry Pi Imager’s JSON format (os_list).',
  SYSTEM_DRIVE: 'This is a system drive. Writing to it would destroy your operating system.',
  SOURCE_ON_TARGET: 'The image is stored on this drive. Copy the image elsewhere or pick another drive.',
  UNMOUNT_FAILED: 'Close the programs using the drive, then try again.',
  ELEVATION_DECLINED: 'Nothing was written. Approve the administrator prompt to write the drive.',
  INVALID_REQUEST: 'This is a bug in Blockwise; please report it.',
  CANCELLED: 'Flash the drive again before using it.',
  INTERNAL: 'This is a bug in Blockwise; please report it.',
};

/**
 * The advice for this error: the code's, except where its details know better — a drive busy with
 * another flash, a capacity check or a backup (details.busyWith) needs nothing closed or unmounted, only time.
 */
export function adviceFor(error: SerializedError): string {
  if (error.code === 'TARGET_BUSY' && (error.details?.busyWith === 'flash' || error.details?.busyWith === 'check' || error.details?.busyWith === 'backup')) {
    return 'Wait for it to finish, then try again.';
  }
  // The message already says what to do with this very file (extract it with 7z, convert it with qemu-img…).
  if (error.code === 'SOURCE_UNSUPPORTED' && error.details?.advised === true) return '';
  // The image's own disk failed a read: the message says what to do; "check that the image file
  // exists and that you may read it" would send the person to look at the wrong thing.
  if (error.code === 'SOURCE_UNREADABLE' && error.details?.syscode === 'EIO') return '';
  if (error.code === 'BMAP_INVALID' && error.details?.newer === true) {
    return 'Update Blockwise, or move the .bmap file away to write the image without it.';
  }
  return ERROR_ADVICE[error.code] ?? ERROR_ADVICE.INTERNAL;
}

export class BlockwiseError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'BlockwiseError';
    this.code = code;
    this.details = details;
  }

  toJSON(): SerializedError {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof BlockwiseError) return error.toJSON();
  if (error instanceof Error) return { code: 'INTERNAL', message: error.message };
  return { code: 'INTERNAL', message: String(error) };
}

export function deserializeError(value: SerializedError): BlockwiseError {
  const code = isErrorCode(value.code) ? value.code : 'INTERNAL';
  return new BlockwiseError(code, value.message, value.details ?? {});
}

/**
 * What to do next when the target is an image file, not a drive: no lock switch to slide and no
 * larger drive to buy — the filesystem that holds the file, and its permissions, are what to fix.
 * Codes not listed here read the same for a file (ERROR_ADVICE).
 */
export const FILE_TARGET_ADVICE: Partial<Record<ErrorCode, string>> = {
  TARGET_BUSY: 'Close the program using the file, then try again.',
  TARGET_READ_ONLY: 'Its filesystem is mounted read-only: write the image file to a folder on another filesystem, or remount this one read-write.',
  TARGET_NOT_FOUND: 'Check the path: the folder must exist, and the file must still be there.',
  PERMISSION_DENIED: 'You may not write there: check the permissions of the file and its folder, or write the image file to a folder of your own.',
  IMAGE_TOO_LARGE: 'Free space on the filesystem that holds it, or write the image file to one with more room.',
  WRITE_IO_ERROR: 'The disk or share that holds the file failed to store data: check it, or write the image file somewhere else.',
  READ_IO_ERROR: 'The disk or share that holds the file could not read it back: check it, or write the image file somewhere else.',
  VERIFY_MISMATCH: 'The file does not hold what was written: the disk or share that holds it may be failing. Write the image file somewhere else.',
  CANCELLED: 'Write the image file again before using it.',
};

/** What an error's target is, for the words about its state: a drive (the default), several drives, or an image file. */
export type TargetNoun = 'drive' | 'drives' | 'file';

const INCOMPLETE: Record<TargetNoun, string> = {
  drive: 'The drive’s contents are now incomplete and it will not boot.',
  drives: 'The drives’ contents are now incomplete and they will not boot.',
  file: 'The file is incomplete: it does not hold the whole image.',
};

/**
 * One paragraph for a person: what happened, the target's state, what to do next. `advice`
 * replaces the table's ('' when the message already says what to do).
 */
export function describeError(error: SerializedError, advice?: string, target: TargetNoun = 'drive'): string {
  // Words from outside Blockwise (a Node error, "EIO: i/o error, read") may end without a full stop;
  // a command to copy, shown indented on a line of its own at the end, must stay as it is.
  const text = error.message.trimEnd();
  const lastLine = text.slice(text.lastIndexOf('\n') + 1);
  const ended = /[.!?]$/.test(text) || (text.includes('\n') && /^\s/.test(lastLine));
  const parts = [ended ? error.message : `${text}.`];
  if (error.details?.driveIncomplete) parts.push(INCOMPLETE[target]);
  const fileAdvice = target === 'file' ? FILE_TARGET_ADVICE[error.code] : undefined;
  const next = advice ?? fileAdvice ?? adviceFor(error);
  if (next) parts.push(next);
  return parts.join(' ');
}
