// Which block device a mounted filesystem lives on, told by /proc/self/mountinfo, sysfs and
// devtmpfs alone: nothing here looks at a mounted filesystem, which may have stopped answering (a
// hung NFS or FUSE mount), and one synchronous look would freeze the thread for good.
//
// Most filesystems report their own block device in mountinfo (and in a file's stat().dev). btrfs
// reports an anonymous device (major 0) for every subvolume: its block device is only in the
// mount's source field (/dev/nvme0n1p3). Without this, a btrfs root (Fedora's, openSUSE's) was
// on no disk, and a mounted btrfs partition did not count as mounted. A ZFS mount's source is a
// dataset (rpool/ROOT/ubuntu): its pool's devices are the ones udev (also in memory, /run/udev)
// recorded as that pool's members. A ZFS root (Ubuntu's option) was on no disk before.

import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
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

/** "MAJ:MIN" of a block device by name, from sysfs (mounted at `sys`). */
function majMinOf(name: string, sys = '/sys'): string | undefined {
  try {
    return readFileSync(path.join(sys, 'class/block', name, 'dev'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** One line of mountinfo: the device it reports, where it is mounted, its filesystem type and its source. */
export interface MountLine {
  majMin: string;
  /** Escapes (\040) left as they are. */
  mountPoint: string;
  fsType: string;
  source: string;
}

export function parseMountLine(line: string): MountLine | undefined {
  const fields = line.split(' ');
  const majMin = fields[2];
  const mountPoint = fields[4];
  const dash = fields.indexOf('-', 6);
  if (!majMin || !mountPoint || dash < 0) return undefined;
  return { majMin, mountPoint, fsType: fields[dash + 1] ?? '', source: fields[dash + 2] ?? '' };
}

/** The other devices of a btrfs spanning several (mkfs.btrfs /dev/sdb /dev/sdc), by block name; [] for any other. */
function btrfsSiblings(name: string, sys = '/sys'): string[] {
  let filesystems: string[];
  try {
    filesystems = readdirSync(path.join(sys, 'fs/btrfs'));
  } catch {
    return [];
  }
  for (const fsid of filesystems) {
    const devices = path.join(sys, 'fs/btrfs', fsid, 'devices');
    if (!existsSync(path.join(devices, name))) continue;
    try {
      return readdirSync(devices).filter((device) => device !== name);
    } catch {
      return [];
    }
  }
  return [];
}

/** Where udev keeps what it learnt of each block device (b<MAJ>:<MIN>, lines such as E:ID_FS_TYPE=ext4). */
export const UDEV_DATA = '/run/udev/data';

/** A block device's filesystem type and label as udev probed them (blkid's TYPE and LABEL). */
function udevFilesystem(majMin: string, udevDir: string): { type?: string; label?: string } {
  let text = '';
  try {
    text = readFileSync(path.join(udevDir, `b${majMin}`), 'utf8');
  } catch {
    return {};
  }
  return { type: /^E:ID_FS_TYPE=(.*)$/m.exec(text)?.[1], label: /^E:ID_FS_LABEL=(.*)$/m.exec(text)?.[1] };
}

/**
 * The devices ("MAJ:MIN") of the ZFS pool `pool`, as udev found them (zfs_member, labelled with
 * the pool's name). A ZFS mount's source is a dataset (rpool/ROOT/ubuntu), not a device, and no
 * sysfs entry ties the pool to its disks; without udev's records (a container), none are found.
 */
export function zfsPoolDevices(pool: string, udevDir = UDEV_DATA): string[] {
  // A ZFS system mounts dozens of datasets of one pool, each asking: one look per second will do.
  const key = `${udevDir}\0${pool}`;
  const cached = poolCache.get(key);
  if (cached && performance.now() - cached.at < 1000) return cached.devices;
  let entries: string[] = [];
  try {
    entries = readdirSync(udevDir);
  } catch {
    /* no udev records */
  }
  const devices = entries.flatMap((entry) => {
    const majMin = /^b(\d+:\d+)$/.exec(entry)?.[1];
    if (majMin === undefined) return [];
    const { type, label } = udevFilesystem(majMin, udevDir);
    return type === 'zfs_member' && label === pool ? [majMin] : [];
  });
  poolCache.set(key, { at: performance.now(), devices });
  return devices;
}
const poolCache = new Map<string, { at: number; devices: string[] }>();

/**
 * Every block device ("MAJ:MIN") a mount's source names: for a btrfs, all of its devices (its
 * data may be on any of them); for ZFS, every device of the dataset's pool. [] for a mount that
 * reports its own device (most filesystems).
 */
export function sourceDevices(mount: MountLine, udevDir = UDEV_DATA): string[] {
  if (mount.fsType === 'zfs') return zfsPoolDevices(mount.source.split('/')[0] ?? '', udevDir);
  const name = mount.majMin.startsWith('0:') ? blockNameOf(mount.source) : undefined;
  if (name === undefined) return [];
  return [name, ...btrfsSiblings(name)].flatMap((device) => majMinOf(device) ?? []);
}

/**
 * A loop device's backing file as the kernel recorded it, without " (deleted)"; undefined for other
 * devices, and with `existing`, for a backing file that was deleted (a file at its old path since
 * is another file).
 */
function loopBacking(name: string, sys: string, existing = false): string | undefined {
  try {
    const text = readFileSync(path.join(sys, 'class/block', name, 'loop', 'backing_file'), 'utf8').trim();
    if (existing && text.endsWith(' (deleted)')) return undefined;
    return text.replace(/ \(deleted\)$/, '') || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The block device at "MAJ:MIN" and every device its contents are stored on, all the way down:
 * the disks under a dm-crypt, LVM or md device (slaves/), the device holding a loop device's
 * backing file (found in mountinfo, never by looking at the file), and the other devices of a
 * btrfs spanning several, or of the ZFS pool it belongs to. A file on a filesystem on any of those
 * is on those disks too. `roots` are for tests: where sysfs and udev's records are.
 */
export function devicesBeneath(majMin: string, roots: { sys?: string; udev?: string } = {}): string[] {
  const sys = roots.sys ?? '/sys';
  const udev = roots.udev ?? UDEV_DATA;
  const out: string[] = [];
  const visit = (device: string | undefined): void => {
    if (device === undefined || out.includes(device)) return;
    out.push(device);
    let name: string;
    try {
      name = path.basename(realpathSync(path.join(sys, 'dev/block', device)));
    } catch {
      return;
    }
    let slaves: string[] = [];
    try {
      slaves = readdirSync(path.join(sys, 'class/block', name, 'slaves'));
    } catch {
      /* none */
    }
    for (const slave of slaves) visit(majMinOf(slave, sys));
    const backing = loopBacking(name, sys);
    if (backing !== undefined) {
      const onDevice = blockNameOf(backing); // attached to a device itself (losetup /dev/sdb1)
      visit(onDevice !== undefined ? majMinOf(onDevice, sys) : blockDeviceHolding(backing));
    }
    for (const sibling of btrfsSiblings(name, sys)) visit(majMinOf(sibling, sys));
    const member = udevFilesystem(device, udev);
    if (member.type === 'zfs_member' && member.label) for (const sibling of zfsPoolDevices(member.label, udev)) visit(sibling);
  };
  visit(majMin);
  return out;
}

/**
 * The block device ("MAJ:MIN") under the mount that holds `realPath`, found by the path alone in
 * mountinfo (symbolic links are the caller's to resolve): nothing on any mounted filesystem is
 * looked at, so a hung NFS or FUSE mount cannot stop it. Undefined for a filesystem on no block
 * device (tmpfs, overlay, NFS). Also right for btrfs, whose files' stat().dev is an anonymous
 * device per subvolume, none of them the one mountinfo reports. For a btrfs or ZFS pool over
 * several devices, one of them: devicesBeneath adds the others.
 */
export function blockDeviceHolding(realPath: string): string | undefined {
  const mount = mountHolding(realPath);
  if (mount === undefined) return undefined;
  return mount.majMin.startsWith('0:') ? sourceDevices(mount)[0] : mount.majMin;
}

/** This process's mount table (/proc/self/mountinfo); '' where there is none. */
export function readMountinfo(): string {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

/**
 * The mount that holds `realPath` (the deepest; at the same point, the one on top), from mountinfo
 * alone; `text` is the table, where the caller looks up several paths in one.
 */
export function mountHolding(realPath: string, text = readMountinfo()): MountLine | undefined {
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
  return best;
}

/**
 * The backing file of the loop device at "MAJ:MIN", or of the loop device it is a partition of
 * (loop0p1), as the kernel recorded it; undefined for any other device and for a deleted file.
 */
export function loopBackingOf(majMin: string, sys = '/sys'): string | undefined {
  try {
    const device = realpathSync(path.join(sys, 'dev/block', majMin));
    const disk = existsSync(path.join(device, 'partition')) ? path.dirname(device) : device;
    return loopBacking(path.basename(disk), sys, true);
  } catch {
    return undefined;
  }
}

/** Every attached loop device whose backing file exists, by block name (loop4), with that file as the kernel recorded it. */
export function loopDevices(sys = '/sys'): Array<{ name: string; backing: string }> {
  let names: string[];
  try {
    names = readdirSync(path.join(sys, 'block')).filter((name) => name.startsWith('loop'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const backing = loopBacking(name, sys, true);
    return backing === undefined ? [] : [{ name, backing }];
  });
}

/** Decodes the octal escapes (\040 for space) mountinfo uses in paths. */
export function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
