// Which block device a mounted filesystem lives on, told by /proc/self/mountinfo, sysfs and
// devtmpfs alone: nothing here looks at a mounted filesystem, which may have stopped answering (a
// hung NFS or FUSE mount), and one synchronous look would freeze the thread for good.
//
// Most filesystems report their own block device in mountinfo (and in a file's stat().dev). btrfs
// reports an anonymous device (major 0) for every subvolume: its block device is only in the
// mount's source field (/dev/nvme0n1p3). Without this, a btrfs root (Fedora's, openSUSE's) was
// on no disk, and a mounted btrfs partition did not count as mounted.

import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The block device a device path names: sdb1 for /dev/sdb1, or for a udev link to it
 * (/dev/disk/by-*, /dev/mapper). Any other path is left alone, unlooked-at.
 */
export function blockNameOf(devicePath: string): string | undefined {
  let name: string | undefined;
  if (/^\/dev\/[^/]+$/.test(devicePath)) name = devicePath.slice('/dev/'.length);
  else if (/^\/dev\/(disk\/by-[^/]+|mapper)\/[^/]+$/.test(devicePath)) {
    try {
      name = path.basename(readlinkSync(devicePath)); // ../../sdb1, ../dm-0
    } catch {
      return undefined;
    }
  }
  return name !== undefined && existsSync(path.join('/sys/class/block', name)) ? name : undefined;
}

/** "MAJ:MIN" of a block device by name, from sysfs. */
function majMinOf(name: string): string | undefined {
  try {
    return readFileSync(path.join('/sys/class/block', name, 'dev'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** One line of mountinfo: the device it reports, where it is mounted, and its source. */
export interface MountLine {
  majMin: string;
  /** Escapes (\040) left as they are. */
  mountPoint: string;
  source: string;
}

export function parseMountLine(line: string): MountLine | undefined {
  const fields = line.split(' ');
  const majMin = fields[2];
  const mountPoint = fields[4];
  const dash = fields.indexOf('-', 6);
  if (!majMin || !mountPoint || dash < 0) return undefined;
  return { majMin, mountPoint, source: fields[dash + 2] ?? '' };
}

/**
 * The block device ("MAJ:MIN") a mount lives on, where its reported device is an anonymous one
 * (major 0: btrfs) and its source names a block device; undefined otherwise.
 */
export function sourceDevice(mount: MountLine): string | undefined {
  if (!mount.majMin.startsWith('0:')) return undefined;
  const name = blockNameOf(mount.source);
  return name === undefined ? undefined : majMinOf(name);
}

/**
 * The block device ("MAJ:MIN") under the mount that holds `realPath`, found by the path alone in
 * mountinfo (symbolic links are the caller's to resolve): nothing on any mounted filesystem is
 * looked at, so a hung NFS or FUSE mount cannot stop it. Undefined for a filesystem on no block
 * device (tmpfs, overlay, NFS). Also right for btrfs, whose files' stat().dev is an anonymous
 * device per subvolume, none of them the one mountinfo reports.
 */
export function blockDeviceHolding(realPath: string): string | undefined {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  let best: MountLine | undefined;
  let bestPoint = '';
  for (const line of text.split('\n')) {
    const mount = parseMountLine(line);
    if (!mount) continue;
    const point = unescapeMountPath(mount.mountPoint);
    const holds = point === '/' || realPath === point || realPath.startsWith(point + '/');
    // The deepest mount point wins; at the same one, the later mount (on top).
    if (holds && point.length >= bestPoint.length) {
      best = mount;
      bestPoint = point;
    }
  }
  if (best === undefined) return undefined;
  return best.majMin.startsWith('0:') ? sourceDevice(best) : best.majMin;
}

/** Decodes the octal escapes (\040 for space) mountinfo uses in paths. */
export function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
