// May this scanned drive receive this image? The host's door check before a job starts; the
// engine repeats the hard rules (system disk, image on the target) right before opening.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { assessDrive, refuseTarget } from '../../shared/drive-rules';
import type { DriveInfo } from '../../shared/drive-types';
import { BlockwiseError } from '../../shared/errors';

export interface TargetCheckContext {
  /** The image's real path (symlinks resolved). */
  imagePath: string;
  /** Decompressed size when known before writing. */
  imageSize?: number;
  /** The latest scan, to find the drive that holds the image. */
  allDrives: DriveInfo[];
  /** Every mount point of the system (readSystemMounts()). */
  systemMounts: string[];
  /** "Show all drives" is on and the user confirmed writing to a system drive. */
  allowSystem: boolean;
  /** What capacity checks found drives to really store (counterfeit or failing ones), by drive id. */
  realCapacity?: Readonly<Record<string, number>>;
}

function isUnder(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** /dev/sda → /dev/sda1; /dev/loop1 → /dev/loop1p2 (a trailing digit takes a 'p'), never /dev/loop10. */
function isPartitionOf(file: string, disk: string): boolean {
  if (!file.startsWith(disk)) return false;
  const rest = file.slice(disk.length);
  return /\d$/.test(disk) ? /^p\d+$/.test(rest) : /^\d+$/.test(rest);
}

/**
 * The drive holding `file`: the one that owns the deepest mount point containing it, among every
 * mount of the system (so a file on a tmpfs under a drive's "/" is on no drive), or the device
 * itself / one of its partitions when the image is a drive.
 */
export function driveHoldingFile(file: string, drives: DriveInfo[], systemMounts: string[] = []): DriveInfo | undefined {
  for (const drive of drives) {
    if (file === drive.path || isPartitionOf(file, drive.path)) return drive; // cloning a drive onto itself
  }
  let deepest: string | undefined;
  for (const mount of [...systemMounts, ...drives.flatMap((d) => d.mountpoints)]) {
    if (!path.isAbsolute(mount) || !isUnder(file, mount)) continue;
    if (deepest === undefined || mount.length > deepest.length) deepest = mount;
  }
  return deepest === undefined ? undefined : drives.find((d) => d.mountpoints.includes(deepest));
}

/** Mount points of every mounted filesystem (Linux: /proc/self/mounts); empty elsewhere. */
export function readSystemMounts(): string[] {
  if (process.platform !== 'linux') return [];
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1])
      .filter((m): m is string => !!m)
      .map((m) => m.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  } catch {
    return [];
  }
}

/** The reason this drive must not be written, as the error flash.start rejects with; undefined when it may. */
export function targetRefusal(drive: DriveInfo, context: TargetCheckContext): BlockwiseError | undefined {
  // The rules are shared with the renderer (shared/drive-rules.ts), so a drive it shows as
  // selectable is one the host accepts. The host adds what only it can know: which drive really
  // holds the image, judged by the system's mounts.
  const holder = driveHoldingFile(context.imagePath, context.allDrives, context.systemMounts);
  const assessment = assessDrive(drive, {
    ...(context.imageSize !== undefined ? { imageSize: context.imageSize } : {}),
    sourceDevice: holder?.path ?? '',
    showAllDrives: context.allowSystem,
    ...(context.realCapacity ? { realCapacity: context.realCapacity } : {}),
  });
  const refusal = refuseTarget(assessment, context.allowSystem);
  return refusal ? new BlockwiseError(refusal.code, refusal.message, { ...refusal.details, path: drive.path }) : undefined;
}
