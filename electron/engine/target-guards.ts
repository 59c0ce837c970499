// Last-line checks in the engine itself, whoever calls it (app, CLI, helper): never the disk that
// runs the system, never the drive that holds the image, never a drive that changed identity,
// and loop devices only with the explicit test opt-in.

import { existsSync, realpathSync, statSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../shared/errors';
import type { SourceSpec, TargetSpec } from '../../shared/flash-types';
import { deviceGeometry, splitDeviceNumber } from './targets/device-geometry';
import { blockDeviceHolding, devicesBeneath, loopBackingOf, loopDevices, mountHolding, readMountinfo } from './targets/mount-sources';

/** Paths whose filesystems make a disk a system disk. */
const SYSTEM_PATHS = ['/', '/boot', '/boot/efi', '/usr', '/var', '/home'];
const LOOP_MAJOR = 7;

export function loopDevicesAllowed(): boolean {
  return process.env.BLOCKWISE_INCLUDE_LOOP === '1';
}

// The lookups below are synchronous: sysfs, /dev, mountinfo and the image file's metadata answer
// from memory (no system path is looked at on its own filesystem: mountinfo says where it lives).
// Awaited one by one on libuv's pool they took 20–40 ms of a flash's start while xz kept both
// cores busy (each round trip waits for a thread to be scheduled).

function sysfsOf(majMin: string | undefined): string | undefined {
  if (majMin === undefined) return undefined;
  try {
    return realpathSync(`/sys/dev/block/${majMin}`);
  } catch {
    return undefined;
  }
}

/** True when `file` (a block device itself, or the filesystem holding it) lives on the disk at `diskSysfs` (or one of its partitions). */
export function fileIsOnDisk(file: string, diskSysfs: string): boolean {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return false;
  }
  // A drive or partition given as the source (cloning) is itself the device: its rdev, not the /dev filesystem's.
  const { major, minor } = splitDeviceNumber(stat.isBlockDevice() ? stat.rdev : stat.dev);
  let majMin: string | undefined = `${major}:${minor}`;
  if (major === 0) {
    // btrfs: an anonymous device per subvolume; the block device is the source of the mount holding the file.
    try {
      majMin = blockDeviceHolding(realpathSync(file));
    } catch {
      majMin = undefined;
    }
  }
  return isOnDisk(majMin, diskSysfs);
}

/**
 * True when the device at "MAJ:MIN", or anything it is built on (devicesBeneath: the disks under
 * LVM, dm-crypt or md, a loop device's backing file, a btrfs's other devices), is the disk at
 * `diskSysfs` or one of its partitions.
 */
function isOnDisk(majMin: string | undefined, diskSysfs: string): boolean {
  if (majMin === undefined) return false;
  return devicesBeneath(majMin).some((device) => {
    const holder = sysfsOf(device);
    return holder !== undefined && (holder === diskSysfs || holder.startsWith(diskSysfs + '/'));
  });
}

function sameInode(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The image file, resolved and looked at; undefined for a URL or an image that cannot be looked at (its opening says why). */
function imageFile(source: SourceSpec): LookedAtFile | undefined {
  if (source.kind !== 'file') return undefined;
  try {
    const real = realpathSync(source.path);
    return { real, stat: statSync(real) };
  } catch {
    return undefined;
  }
}

/** A file, resolved and looked at. */
interface LookedAtFile {
  real: string;
  stat: Stats;
}

/**
 * Whether `backing`, a loop device's backing file as the kernel recorded it, is `file`: by path;
 * for another name of the same file (a hard link, a bind mount), by inode, but only where the
 * backing file is on `file`'s own filesystem, which has just answered: a backing file elsewhere,
 * maybe on a hung mount, is never looked at.
 */
function isBackingFile(backing: string, file: LookedAtFile, mountinfo = readMountinfo()): boolean {
  if (backing === file.real) return true;
  const { major, minor } = splitDeviceNumber(file.stat.dev);
  if (mountHolding(backing, mountinfo)?.majMin !== `${major}:${minor}`) return false;
  try {
    return sameInode(statSync(backing), file.stat);
  } catch {
    return false;
  }
}

/**
 * True when the image file backs one of `devices` ("MAJ:MIN"), a loop device (an image attached to
 * look inside it, as GNOME's Disk Image Mounter does): writing that device rewrites the image while
 * it is read. It was flashed "successfully" with its start zeroed, the image's start then read back
 * as zeros.
 */
function backsLoopDevice(image: LookedAtFile, devices: string[]): boolean {
  return devices.some((device) => {
    const backing = loopBackingOf(device);
    return backing !== undefined && isBackingFile(backing, image);
  });
}

/**
 * A file that loop devices beneath both a drive given as the image (`source`, cloning) and the
 * target are attached to: the same bytes read and written at once. Compared by the paths the
 * kernel recorded; undefined when none is shared.
 */
function sharedLoopFile(source: Stats, beneathTarget: string[]): string | undefined {
  const { major, minor } = splitDeviceNumber(source.rdev);
  const files = (devices: string[]) => devices.flatMap((device) => loopBackingOf(device) ?? []);
  const read = files(devicesBeneath(`${major}:${minor}`));
  return files(beneathTarget).find((file) => read.includes(file));
}

/**
 * An image file among the targets that lives on one of the job's drives: the drive is unmounted
 * and erased, so the file would be written into the bare mount-point folder (or into the erased
 * drive's old filesystem) and reported saved. `jobTargets`: every target of the job.
 */
function refuseFileOnJobDrive(spec: TargetSpec, jobTargets: readonly TargetSpec[]): void {
  const target = path.resolve(spec.path);
  let stat;
  try {
    stat = statSync(target);
  } catch {
    stat = undefined;
  }
  if (stat?.isBlockDevice() || stat?.isCharacterDevice()) return;
  const where = stat ? target : path.dirname(target);
  for (const other of jobTargets) {
    if (other === spec) continue;
    let device;
    try {
      device = statSync(other.path);
    } catch {
      continue;
    }
    if (!device.isBlockDevice()) continue;
    const { major, minor } = splitDeviceNumber(device.rdev);
    const disk = sysfsOf(`${major}:${minor}`);
    if (disk && fileIsOnDisk(where, disk)) {
      throw new BlockwiseError(
        'TARGET_NOT_ALLOWED',
        `${spec.path} is on ${other.path}, which this flash erases: the file would be lost with the drive's old contents. Write the image file to another drive, or flash ${other.path} on its own.`,
        { path: spec.path },
      );
    }
  }
}

export async function guardTarget(spec: TargetSpec, source: SourceSpec, imageName: string, jobTargets: readonly TargetSpec[] = []): Promise<void> {
  const target = path.resolve(spec.path);
  refuseFileOnJobDrive(spec, jobTargets);
  const image = imageFile(source);
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  if (source.kind === 'file' && real(source.path) === real(target)) {
    throw new BlockwiseError('SOURCE_ON_TARGET', `${spec.path} is the image file itself.`, { path: spec.path });
  }
  let stat;
  try {
    stat = statSync(target);
  } catch {
    return; // openTarget reports a missing device; a missing regular file is created.
  }
  // A hard link to the image (or the image through a bind mount): opening it as the target empties it.
  if (image && stat.isFile() && image.stat.isFile() && sameInode(stat, image.stat)) {
    throw new BlockwiseError('SOURCE_ON_TARGET', `${spec.path} is the image file itself, under another name (a hard link or a bind mount).`, {
      path: spec.path,
    });
  }
  if (stat.isFile()) {
    // An image file attached as a loop device (its filesystem perhaps mounted): emptied and
    // rewritten under it, that filesystem was destroyed without a word, and the flash succeeded.
    const file = { real: real(target), stat };
    const mountinfo = readMountinfo();
    const loop = loopDevices().find((device) => isBackingFile(device.backing, file, mountinfo));
    if (loop) {
      throw new BlockwiseError(
        'TARGET_BUSY',
        `${spec.path} is in use as the backing file of the loop device /dev/${loop.name}: detach it first (losetup -d /dev/${loop.name}), or write the image file somewhere else.`,
        { path: spec.path },
      );
    }
  }
  if (!stat.isBlockDevice() || process.platform !== 'linux') return;

  const { major, minor } = splitDeviceNumber(stat.rdev);
  if (major === LOOP_MAJOR && !loopDevicesAllowed()) {
    throw new BlockwiseError(
      'TARGET_NOT_ALLOWED',
      `${spec.path} is a loop device; those are only accepted with BLOCKWISE_INCLUDE_LOOP=1 (for tests).`,
      { path: spec.path },
    );
  }
  const disk = sysfsOf(`${major}:${minor}`);
  if (!disk) return;
  if (existsSync(path.join(disk, 'partition'))) {
    throw new BlockwiseError('TARGET_NOT_ALLOWED', `${spec.path} is a partition; choose the whole drive instead.`, { path: spec.path });
  }
  // Usually all on one device: each is looked beneath once.
  const checked = new Map<string | undefined, boolean>();
  for (const systemPath of SYSTEM_PATHS) {
    // From mountinfo alone: a stat of /home on an NFS server that stopped answering never returns.
    const device = blockDeviceHolding(systemPath);
    const onDisk = checked.get(device) ?? isOnDisk(device, disk);
    checked.set(device, onDisk);
    if (onDisk) {
      throw new BlockwiseError('SYSTEM_DRIVE', `${spec.path} holds the running system (${systemPath}); Blockwise will not write to it.`, {
        path: spec.path,
      });
    }
  }
  const beneathTarget = devicesBeneath(`${major}:${minor}`);
  if (image?.stat.isFile() && backsLoopDevice(image, beneathTarget)) {
    throw new BlockwiseError('SOURCE_ON_TARGET', `${spec.path} is a loop device over the image ${imageName} itself: writing it would overwrite the image while it is read.`, {
      path: spec.path,
    });
  }
  if (source.kind === 'file' && fileIsOnDisk(source.path, disk)) {
    throw new BlockwiseError('SOURCE_ON_TARGET', `The image ${imageName} is stored on ${spec.path}; writing would destroy it mid-read.`, {
      path: spec.path,
    });
  }
  // Checked after the drive holding the image: a partition of this drive, given as the image, is said as such.
  const shared = image?.stat.isBlockDevice() ? sharedLoopFile(image.stat, beneathTarget) : undefined;
  if (shared) {
    throw new BlockwiseError('SOURCE_ON_TARGET', `${spec.path} and the image ${imageName} are loop devices over the same file, ${shared}: writing one would overwrite the other while it is read.`, {
      path: spec.path,
    });
  }
  if (spec.identity?.size !== undefined) {
    const geometry = await deviceGeometry(target);
    // A device node left behind by a removed stick or an emptied card reader reads as 0 bytes.
    if (geometry.size === 0) {
      throw new BlockwiseError('TARGET_NOT_FOUND', `${spec.path} has no medium (0 bytes): the drive or card was removed after it was chosen.`, {
        path: spec.path,
      });
    }
    if (geometry.size !== spec.identity.size) {
      throw new BlockwiseError(
        'TARGET_CHANGED',
        `${spec.path} is now ${geometry.size} bytes, not the ${spec.identity.size} bytes of the drive you chose: a different drive may be plugged in.`,
        { path: spec.path },
      );
    }
  }
}
