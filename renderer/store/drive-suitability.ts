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

export function viewDrives(drives: DriveInfo[], image: ImageInfo | null, showAllDrives: boolean): DriveView[] {
  const size = image ? imageBytes(image) : undefined;
  const assessments = assessDrives(drives, {
    showAllDrives,
    ...(size !== undefined ? { imageSize: size } : {}),
    ...(image ? { imagePath: image.path } : {}),
  });
  return drives.map((drive) => {
    const a = assessments.get(drive.id)!;
    return { drive, reasons: a.reasons, selectable: a.selectable, visible: a.visible, needsConfirm: a.needsConfirm };
  });
}
