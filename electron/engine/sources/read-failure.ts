// A read of the image file itself that failed: which byte, and words that blame where the file is
// kept (a failing USB disk, a card reader, a share), not the image. Before, a raw image named the
// start of its 4 MiB read, and a compressed one was "damaged: EIO" with "Download it again".

import { BlockwiseError, type ErrorDetails } from '../../../shared/errors';

/** Reads `length` bytes at `position` into `into` (from its start), resolving with the count read. */
export type ReadAt = (into: Buffer, length: number, position: number) => Promise<number>;

/**
 * The start of the first `unit`-aligned block (or of the read, if later) of the failed read
 * [position, position + length) that cannot be read, found by reading halves again (reads only,
 * so harmless). A part that reads short (the file ends) counts as read.
 */
export async function firstUnreadableByte(readAt: ReadAt, position: number, length: number, unit = 512): Promise<number> {
  let lo = position;
  let hi = position + length;
  const scratch = Buffer.alloc(Math.min(length, 1 << 20));
  while (hi - lo > unit) {
    const mid = Math.ceil((lo + (hi - lo) / 2) / unit) * unit;
    if (mid <= lo || mid >= hi) break;
    try {
      for (let at = lo; at < mid; ) {
        const n = await readAt(scratch, Math.min(scratch.length, mid - at), at);
        if (n === 0) break;
        at += n;
      }
      lo = mid;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

/** The error for a read of the image file at `offset` that failed with `error` (a Node error). */
export function imageReadError(filePath: string, offset: number, error: unknown, drive = false): BlockwiseError {
  const cause = error as NodeJS.ErrnoException;
  const code = cause?.code;
  // A drive being cloned is itself what failed; an image file is only as good as what holds it.
  const why = code !== 'EIO'
    ? ''
    : drive
      ? ': the drive failed to read there, and may be failing. Copy it with a tool that goes on past unreadable blocks (ddrescue), and flash that copy'
      : ': the disk, card or share that holds it failed to read there (the image itself may be fine). Download it again, or copy it from where it came from, onto another disk, and flash that copy';
  const details: ErrorDetails = { path: filePath, offset };
  if (code) details.syscode = code;
  return new BlockwiseError('SOURCE_UNREADABLE', `Could not read ${filePath} at byte ${offset} (${cause?.message ?? String(error)})${why}`, details);
}
