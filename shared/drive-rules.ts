// May this drive be a target? Pure rules with reasons a person can read, used by the renderer
// (to grey a drive out and say why) and by every host (to refuse) so both always agree.

import type { DriveInfo } from './drive-types';
import type { ErrorCode, SerializedError } from './errors';
import { usableModel } from './drive-name';
import { formatBytes, formatBytesExact } from './format-bytes';

export type DriveRuleCode =
  | 'SYSTEM_DRIVE'
  | 'SOURCE_DRIVE'
  | 'TOO_SMALL'
  | 'NO_MEDIUM'
  | 'READ_ONLY'
  | 'LARGE_DRIVE'
  | 'NOT_REMOVABLE'
  | 'VIRTUAL_DRIVE'
  | 'LOOP_DEVICE'
  | 'MOUNTED'
  | 'FAKE_CAPACITY';

/** error: cannot be chosen; confirm: only after an explicit yes; warning/info: shown beside it. */
export type ReasonSeverity = 'error' | 'confirm' | 'warning' | 'info';

export interface DriveReason {
  code: DriveRuleCode;
  text: string;
  severity: ReasonSeverity;
}

export interface DriveAssessment {
  /** Shown in the list at all (system drives only with "show all drives"). */
  visible: boolean;
  selectable: boolean;
  /** Selectable only after the user explicitly confirms (system drive with "show all drives"). */
  needsConfirm: boolean;
  /** Most severe first. */
  reasons: DriveReason[];
}

export interface AssessOptions {
  /** Uncompressed image size in bytes, when known. */
  imageSize?: number;
  /** Path of the image file, to find the drive it is stored on (longest mount-point match). */
  imagePath?: string;
  /** Device path of the drive holding the image, when the host already knows it (wins over imagePath). */
  sourceDevice?: string;
  showAllDrives: boolean;
  /**
   * What capacity checks found drives to really store, by drive id, for those found to store less
   * than they claim (drives.check): such a drive takes no image larger than that.
   */
  realCapacity?: Readonly<Record<string, number>>;
}

/** Marketed "128 GB" sticks hold a little over 128e9 bytes; 128 GiB keeps them warning-free. */
export const LARGE_DRIVE_BYTES = 128 * 1024 ** 3;

const SEVERITY_ORDER: ReasonSeverity[] = ['error', 'confirm', 'warning', 'info'];

/** Comparable form of a path or mount point: forward slashes, Windows drive letters lower-cased. */
function normalizePath(p: string): string {
  let out = p.replace(/\\/g, '/');
  if (/^[a-zA-Z]:/.test(out)) out = out[0]!.toLowerCase() + out.slice(1);
  if (out.length > 1 && out.endsWith('/') && !/^[a-z]:\/$/.test(out)) out = out.slice(0, -1);
  return out;
}

function mountContains(mountpoint: string, file: string): number {
  const m = normalizePath(mountpoint);
  const f = normalizePath(file);
  if (!m.startsWith('/') && !/^[a-z]:/.test(m)) return -1; // [SWAP] and the like hold no files
  const prefix = m.endsWith('/') ? m : m + '/';
  return f === m || f.startsWith(prefix) ? m.length : -1;
}

/** The drive whose mounted filesystem holds `file`: the longest matching mount point wins. */
export function driveHoldingFile(drives: DriveInfo[], file: string): DriveInfo | undefined {
  let best: DriveInfo | undefined;
  let bestLength = -1;
  for (const drive of drives) {
    for (const mountpoint of drive.mountpoints) {
      const length = mountContains(mountpoint, file);
      if (length > bestLength) {
        best = drive;
        bestLength = length;
      }
    }
  }
  return best;
}

function describe(drive: DriveInfo): string {
  const model = usableModel(drive.model);
  return model ? `${model} (${drive.path})` : drive.path;
}

/** The rules for one drive. Use assessDrives when you have the whole list (finds the image's drive). */
export function assessDrive(drive: DriveInfo, options: AssessOptions): DriveAssessment {
  const reasons: DriveReason[] = [];
  const add = (code: DriveRuleCode, severity: ReasonSeverity, text: string) => reasons.push({ code, severity, text });
  const name = describe(drive);

  if (drive.system) {
    const where = drive.mountpoints.length > 0 ? ` (mounted at ${drive.mountpoints.slice(0, 3).join(', ')})` : '';
    add(
      'SYSTEM_DRIVE',
      options.showAllDrives ? 'confirm' : 'error',
      `${name} is a system drive${where}. Writing to it would destroy your operating system or your files.`,
    );
  }
  if (options.sourceDevice !== undefined ? options.sourceDevice === drive.path : options.imagePath !== undefined && driveHoldingFile([drive], options.imagePath) === drive) {
    add('SOURCE_DRIVE', 'error', `${name} holds the image you are writing; writing would destroy the image while it is read.`);
  }
  if (drive.size <= 0) {
    add('NO_MEDIUM', 'error', `${name} reports no capacity. Insert a card, or plug the drive in again.`);
  } else if (options.imageSize !== undefined && options.imageSize > drive.size) {
    // Sizes that round the same ("33.6 MB" and "33.6 MB") are said to the byte.
    const exact = formatBytes(options.imageSize) === formatBytes(drive.size);
    const size = exact ? formatBytesExact : formatBytes;
    add('TOO_SMALL', 'error', `${name} is too small: the image needs ${size(options.imageSize)}, the drive holds ${size(drive.size)}.`);
  }
  const real = options.realCapacity?.[drive.id];
  if (real !== undefined && real < drive.size && drive.size > 0) {
    const claims = `${name} stores only ${formatBytes(real)} of the ${formatBytes(drive.size)} it claims (its capacity check found it counterfeit or failing)`;
    if (options.imageSize !== undefined && options.imageSize > real) add('FAKE_CAPACITY', 'error', `${claims}: the image needs ${formatBytes(options.imageSize)} and would be damaged.`);
    else add('FAKE_CAPACITY', 'warning', `${claims}. Use it only for images smaller than that.`);
  }
  if (drive.readOnly) {
    add('READ_ONLY', 'error', `${name} is write-protected. Slide the lock switch on the card or adapter to unlock it.`);
  }
  if (drive.size > LARGE_DRIVE_BYTES) {
    add('LARGE_DRIVE', 'warning', `${name} holds ${formatBytes(drive.size)}, unusually big for install media: make sure it is the drive you mean.`);
  }
  if (!drive.system && !drive.removable && drive.bus !== 'loop') {
    add('NOT_REMOVABLE', 'warning', `${name} is a fixed disk, not a removable drive.`);
  }
  if (drive.bus === 'loop') {
    add('LOOP_DEVICE', 'info', `${drive.path} is a loop device (a file posing as a drive).`);
  } else if (drive.virtual) {
    add('VIRTUAL_DRIVE', 'warning', `${name} is a virtual disk.`);
  }
  if (drive.mountpoints.length > 0 && !drive.system) {
    add('MOUNTED', 'info', `${name} is mounted at ${drive.mountpoints.join(', ')}; it will be unmounted before writing.`);
  }

  reasons.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  const visible = !drive.system || options.showAllDrives;
  const selectable = visible && !reasons.some((r) => r.severity === 'error');
  return { visible, selectable, needsConfirm: selectable && reasons.some((r) => r.severity === 'confirm'), reasons };
}

/** Assesses every drive of a scan; the image's drive is found once, by longest mount-point match. */
export function assessDrives(drives: DriveInfo[], options: AssessOptions): Map<string, DriveAssessment> {
  const sourceDevice = options.sourceDevice ?? (options.imagePath !== undefined ? driveHoldingFile(drives, options.imagePath)?.path : undefined);
  const out = new Map<string, DriveAssessment>();
  for (const drive of drives) out.set(drive.id, assessDrive(drive, { ...options, sourceDevice: sourceDevice ?? '' }));
  return out;
}

const REFUSAL_CODES: Record<DriveRuleCode, ErrorCode | undefined> = {
  SYSTEM_DRIVE: 'SYSTEM_DRIVE',
  SOURCE_DRIVE: 'SOURCE_ON_TARGET',
  TOO_SMALL: 'IMAGE_TOO_LARGE',
  NO_MEDIUM: 'TARGET_NOT_FOUND',
  READ_ONLY: 'TARGET_READ_ONLY',
  LARGE_DRIVE: undefined,
  NOT_REMOVABLE: undefined,
  VIRTUAL_DRIVE: undefined,
  LOOP_DEVICE: undefined,
  MOUNTED: undefined,
  FAKE_CAPACITY: 'IMAGE_TOO_LARGE',
};

/**
 * What a host answers when asked to write this drive: undefined to go ahead, else the error.
 * `confirmedSystem` is the user's explicit yes for a system drive shown via "show all drives".
 */
export function refuseTarget(assessment: DriveAssessment, confirmedSystem = false): SerializedError | undefined {
  for (const reason of assessment.reasons) {
    const blocking = reason.severity === 'error' || (reason.severity === 'confirm' && !confirmedSystem);
    if (!blocking) continue;
    const code = REFUSAL_CODES[reason.code] ?? 'TARGET_NOT_ALLOWED';
    const text = reason.severity === 'confirm' ? `${reason.text} Confirm explicitly to write to it anyway.` : reason.text;
    return { code, message: `${text} Nothing was written.` };
  }
  return undefined;
}
