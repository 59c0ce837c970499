// Turns what drivelist (and, on Linux, /sys) report into the DriveInfo everyone else sees.
// Pure functions: fixtures of real drivelist/lsblk output go in, DriveInfo comes out.

import { createHash } from 'node:crypto';
import type { Drive } from 'drivelist';
import type { BusType, DriveInfo } from '../../shared/drive-types';
import { usableModel } from '../../shared/drive-name';

/** Mount points that mean "the running system lives here". */
const SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '/etc', '/opt', '/home', '/srv', '/nix', '/gnu', '[SWAP]'];

export function isSystemMountpoint(mountpoint: string): boolean {
  if (SYSTEM_MOUNTS.includes(mountpoint)) return true;
  // macOS keeps the system on these; Windows on the drive that holds \Windows (usually C:).
  if (mountpoint === '/System/Volumes/Data' || mountpoint.startsWith('/System/Volumes/')) return true;
  return /^C:\\?$/i.test(mountpoint);
}

/** Devices that are never install media: optical, RAM disks, compressed swap in RAM. */
export function isIgnoredDevice(devicePath: string): boolean {
  return /^\/dev\/(sr\d|ram\d|zram\d|fd\d)/.test(devicePath);
}

const CARD_MODEL = /card|reader|sd\/mmc|\bmmc\b|sdxc|sdhc|micro ?sd|multi-?card/i;

export function busTypeOf(devicePath: string, busType: string, isVirtual: boolean): BusType {
  const name = devicePath.replace(/^\/dev\//, '');
  if (name.startsWith('loop')) return 'loop';
  if (name.startsWith('mmcblk')) return 'sd';
  if (name.startsWith('nvme')) return 'nvme';
  switch (busType.toUpperCase()) {
    case 'USB':
      return 'usb';
    case 'MMC':
    case 'SD':
      return 'sd';
    case 'SATA':
    case 'ATA':
    case 'IDE':
      return 'sata';
    case 'NVME':
      return 'nvme';
    case 'SCSI':
    case 'SAS':
    case 'FC':
    case 'ISCSI':
      return 'scsi';
    case 'VIRTUAL':
      return 'virtual';
  }
  if (isVirtual || /^(vd|xvd)/.test(name)) return 'virtual';
  return 'unknown';
}

/** Opaque, stable while plugged: a new attachment (diskseq) or another medium gives a new id. */
export function driveId(path: string, facts: { serial?: string; size: number; model: string; diskseq?: number }): string {
  const hash = createHash('sha256')
    .update([path, facts.serial ?? '', facts.size, facts.model, facts.diskseq ?? ''].join('\0'))
    .digest('hex')
    .slice(0, 12);
  return `${path.replace(/^.*[/\\]/, '')}-${hash}`;
}

/** Extra facts the scanner may know beyond drivelist's (Linux: from /sys and mountinfo). */
export interface DriveExtras {
  serial?: string;
  diskseq?: number;
  /** Mount points of the disk, its partitions and stacked devices (replaces drivelist's list). */
  mountpoints?: string[];
  model?: string;
  removable?: boolean;
  readOnly?: boolean;
}

export function driveInfoFromDrivelist(drive: Drive, extras: DriveExtras = {}): DriveInfo {
  const path = drive.device;
  const size = drive.size ?? 0;
  // A bare bus vendor id (a virtio disk's "0x1af4") names no drive: no model rather than that.
  const model = usableModel(extras.model ?? '') ?? usableModel(drive.description ?? '') ?? '';
  const isVirtual = Boolean(drive.isVirtual) || /^\/dev\/(vd|xvd)/.test(path);
  const bus = busTypeOf(path, drive.busType, Boolean(drive.isVirtual));
  const mountpoints = extras.mountpoints ?? drive.mountpoints.map((m) => m.path);
  const isUSB = Boolean(drive.isUSB) || bus === 'usb';
  const isCard = Boolean(drive.isCard) || bus === 'sd' || CARD_MODEL.test(`${model} ${drive.description}`);
  // A laptop's built-in SD slot (mmcblk) reports removable=0, yet the card in it is the very
  // thing people flash: treat it as removable unless a system path is mounted from it.
  const removable = (extras.removable ?? drive.isRemovable) || bus === 'sd';
  // drivelist calls every fixed disk "system"; we add any disk holding a system mount point, even
  // a removable one (a Live USB the computer booted from).
  const system = (drive.isSystem && !removable) || mountpoints.some(isSystemMountpoint);
  return {
    id: driveId(path, { serial: extras.serial, size, model, diskseq: extras.diskseq }),
    path,
    size,
    model,
    ...(extras.serial ? { serial: extras.serial } : {}),
    bus,
    removable,
    readOnly: extras.readOnly ?? drive.isReadOnly,
    system,
    virtual: isVirtual,
    isCard,
    isUSB,
    mountpoints,
    logicalBlockSize: drive.logicalBlockSize || 512,
  };
}
