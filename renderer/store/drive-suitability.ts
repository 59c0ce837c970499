// Whether a drive may be chosen as a target, with the reason a person reads when it may not.
// A renderer-side mirror of the privileged side's checks, for display only: the host re-checks
// everything before opening a device. (Superseded by shared/drive-rules.ts once it lands.)

import type { ImageInfo } from '../../shared/contract';
import type { DriveInfo } from '../../shared/drive-types';
import { formatBytes } from '../format';

export interface DriveView {
  drive: DriveInfo;
  /** Why it cannot be selected; empty when it can. */
  reasons: string[];
  /** Hidden unless "show all drives" is on (system and internal disks). */
  hidden: boolean;
}

function imageBytes(image: ImageInfo): number | undefined {
  return image.imageSize ?? (image.formats.every((f) => f === 'raw' || f === 'iso') ? image.storedSize : undefined);
}

function holdsPath(drive: DriveInfo, filePath: string): boolean {
  return drive.mountpoints.some((mount) => {
    if (!mount || mount.startsWith('[')) return false;
    const base = mount.endsWith('/') || mount.endsWith('\\') ? mount : `${mount}/`;
    return filePath === mount || filePath.startsWith(base) || (mount === '/' && filePath.startsWith('/'));
  });
}

export function driveProblems(drive: DriveInfo, image: ImageInfo | null): string[] {
  const reasons: string[] = [];
  if (drive.system) reasons.push('System drive');
  if (drive.readOnly) reasons.push('Read-only (write-protected)');
  if (image) {
    if (holdsPath(drive, image.path)) reasons.push('Holds the image');
    const needed = imageBytes(image);
    if (needed !== undefined && drive.size > 0 && drive.size < needed) {
      reasons.push(`Too small (image needs ${formatBytes(needed)})`);
    }
  }
  return reasons;
}

export function viewDrives(drives: DriveInfo[], image: ImageInfo | null): DriveView[] {
  return drives.map((drive) => ({
    drive,
    reasons: driveProblems(drive, image),
    hidden: drive.system || (drive.virtual && drive.bus !== 'loop'),
  }));
}
