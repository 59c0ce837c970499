// What to do when writing an image FILE failed: the engine's errors speak of drives (a lock switch,
// a larger drive), but a file is held by a filesystem of this computer, and that is what to name —
// where it is mounted — and what to fix there: its free space, its being read-only, permissions.

import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { FILE_TARGET_ADVICE, type SerializedError } from '../../shared/errors';

/** Where the filesystem holding `file` (or, for one not made yet, its folder) is mounted: the last folder up on the same device. */
export function mountPointOf(file: string): string | undefined {
  let dir = path.resolve(file);
  let dev: number | undefined;
  try {
    dev = statSync(dir).dev;
  } catch {
    dir = path.dirname(dir);
    try {
      dev = statSync(dir).dev;
    } catch {
      return undefined;
    }
  }
  for (;;) {
    const up = path.dirname(dir);
    if (up === dir) return dir;
    try {
      if (statSync(up).dev !== dev) return dir;
    } catch {
      return dir;
    }
    dir = up;
  }
}

/** The advice for an error on the image file `file`, naming its filesystem where that is what to fix. */
export function fileTargetAdvice(error: SerializedError, file: string): string | undefined {
  const mount = mountPointOf(file);
  switch (error.code) {
    case 'IMAGE_TOO_LARGE':
      if (mount) return `Free space on the filesystem mounted at ${mount}, which holds it, or write the image file to another filesystem with more room.`;
      break;
    case 'TARGET_READ_ONLY':
      if (mount) return `The filesystem mounted at ${mount}, which holds it, is read-only: write the image file to a folder on another filesystem, or remount it read-write.`;
      break;
    case 'SOURCE_ON_TARGET':
      // The table's words are a drive's ("stored on this drive… pick another drive").
      return 'Give --to another file: writing the image over itself would destroy it.';
    case 'PERMISSION_DENIED': {
      const uid = process.getuid?.();
      const who = uid === undefined ? 'You' : `You (uid ${uid})`;
      const check = existsSync(file) ? `the permissions of the file and of its folder ${path.dirname(file)}` : `the permissions of the folder ${path.dirname(file)}`;
      return `${who} may not write there: check ${check}, or write the image file to a folder of your own.`;
    }
  }
  return FILE_TARGET_ADVICE[error.code];
}
