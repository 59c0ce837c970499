// The target list's view of each drive: shared/drive-rules.ts decides (the same rules the host
// enforces when it refuses a target), this only feeds it what the renderer knows about the image.

import type { ImageInfo } from '../../shared/contract';
import type { DriveInfo } from '../../shared/drive-types';
import { assessDrives, type DriveReason } from '../../shared/drive-rules';

export interface DriveView {
  drive: DriveInfo;
  /** Most severe first; 'error' ones are why it cannot be selected. */
  reasons: DriveReason[];
  selectable: boolean;
  /** Shown at all (system drives only with "show all drives"). */
  visible: boolean;
  /** Selectable only after an explicit yes (a system drive shown via "show all drives"). */
  needsConfirm: boolean;
}

/** Bytes the image will occupy on the drive, when known before writing. */
export function imageBytes(image: ImageInfo): number | undefined {
  return image.imageSize ?? (image.formats.every((f) => f === 'raw' || f === 'iso') ? image.storedSize : undefined);
}

/**
 * The drive an image read straight from a device is on (a card being copied: /dev/sdb, or one of
 * its partitions, /dev/sdb1, /dev/mmcblk0p2); its mount points say nothing of that. A drive whose
 * name ends in a digit numbers its partitions after a 'p' (loop1p1), so loop10 is not loop1's.
 */
export function driveOfDevicePath(drives: DriveInfo[], imagePath: string | undefined): DriveInfo | undefined {
  if (imagePath === undefined) return undefined;
  return drives.find((drive) => {
    if (imagePath === drive.path) return true;
    if (!imagePath.startsWith(drive.path)) return false;
    const rest = imagePath.slice(drive.path.length);
    return /\d$/.test(drive.path) ? /^p\d+$/.test(rest) : /^\d+$/.test(rest);
  });
}

/** `realCapacity`: what capacity checks found counterfeit or failing drives to really store, by id. */
export function viewDrives(drives: DriveInfo[], image: ImageInfo | null, showAllDrives: boolean, realCapacity: Readonly<Record<string, number>> = {}): DriveView[] {
  const size = image ? imageBytes(image) : undefined;
  const device = driveOfDevicePath(drives, image?.path);
  const assessments = assessDrives(drives, {
    showAllDrives,
    realCapacity,
    ...(size !== undefined ? { imageSize: size } : {}),
    ...(image ? { imagePath: image.path } : {}),
    // Refused by the host as the image's own drive: shown so here, not offered and then refused.
    ...(device ? { sourceDevice: device.path } : {}),
  });
  return drives.map((drive) => {
    const a = assessments.get(drive.id)!;
    return { drive, reasons: a.reasons, selectable: a.selectable, visible: a.visible, needsConfirm: a.needsConfirm };
  });
}
