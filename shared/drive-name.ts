// A drive's name as a person reads it. The model the OS reports can be empty, or only a bus vendor
// id (a virtio disk's sysfs "vendor" is 0x1af4, which names the hypervisor's maker, not the disk):
// then the size says more, as a drive's label would.

import { formatBytes } from './format-bytes';

/** A vendor or device id such as "0x1af4", or "0x1af4 0x1001": a number, not a name. */
const BARE_ID = /^(0x[0-9a-f]+\s*)+$/i;

export function usableModel(model: string): string | undefined {
  const trimmed = model.trim();
  return trimmed && !BARE_ID.test(trimmed) ? trimmed : undefined;
}

/** "SanDisk Ultra"; without a usable model "21.5 GB drive", or the device's name when the size is unknown too. */
export function driveTitle(drive: { model: string; path: string; size?: number }): string {
  const model = usableModel(drive.model);
  if (model) return model;
  if (drive.size !== undefined && drive.size > 0) return `${formatBytes(drive.size)} drive`;
  return drive.path.replace(/^.*[/\\]/, '');
}

/** "SanDisk Ultra (/dev/sdb)": the drive at `path` among `drives` by its title, or the path alone when it is not among them. */
export function driveLabel(drives: readonly { model: string; path: string; size?: number }[], path: string): string {
  const drive = drives.find((d) => d.path === path);
  return drive ? `${driveTitle(drive)} (${path})` : path;
}
