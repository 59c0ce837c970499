// Facts about Linux block devices read straight from /sys and /proc: cheap enough to poll every
// second, and they see what lsblk does not (loop devices, holders such as LVM/dm, diskseq).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { blockNameOf, parseMountLine, sourceDevices, unescapeMountPath } from '../engine/targets/mount-sources';

const SYS_BLOCK = '/sys/block';

export function readSysText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readSysNumber(file: string): number | undefined {
  const text = readSysText(file);
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Whole-disk names under /sys/block (sda, nvme0n1, loop3…), sorted. */
export function listBlockNames(): string[] {
  try {
    return readdirSync(SYS_BLOCK).sort();
  } catch {
    return [];
  }
}

/**
 * "MAJ:MIN" → mount points, parsed from mountinfo text (a device may be mounted several times). A
 * btrfs mount reports an anonymous device: it is listed under its source's block device too, and
 * under each of the other devices of a btrfs spanning several.
 */
export function parseMountInfo(text: string): Map<string, string[]> {
  const byDevice = new Map<string, string[]>();
  const add = (majMin: string, mountPoint: string) => byDevice.set(majMin, [...(byDevice.get(majMin) ?? []), mountPoint]);
  for (const line of text.split('\n')) {
    const mount = parseMountLine(line);
    if (!mount) continue;
    const mountPoint = unescapeMountPath(mount.mountPoint);
    add(mount.majMin, mountPoint);
    for (const behind of sourceDevices(mount)) add(behind, mountPoint);
  }
  return byDevice;
}

export function readMountTable(): Map<string, string[]> {
  return parseMountInfo(readSysText('/proc/self/mountinfo') ?? '');
}

/** Device paths in use as swap (a swap partition is as much "in use" as a mount). */
export function readSwapDevices(): Set<string> {
  const lines = (readSysText('/proc/swaps') ?? '').split('\n').slice(1);
  return new Set(lines.map((l) => l.split(/\s+/)[0] ?? '').filter((p) => p.startsWith('/dev/')));
}

/** Partition names of a disk (sdb1, nvme0n1p2, loop3p1). */
export function partitionNames(disk: string): string[] {
  try {
    return readdirSync(path.join(SYS_BLOCK, disk))
      .filter((entry) => entry.startsWith(disk) && existsSync(path.join(SYS_BLOCK, disk, entry, 'partition')))
      .sort();
  } catch {
    return [];
  }
}

function holderNames(sysDir: string): string[] {
  try {
    return readdirSync(path.join(sysDir, 'holders'));
  } catch {
    return [];
  }
}

/**
 * Loop devices attached to a block device rather than a file (`losetup -f /dev/sdb1`), by the name
 * of that device. The kernel lists them in no holders directory.
 */
function loopsOnDevices(): Map<string, string[]> {
  const byBacking = new Map<string, string[]>();
  for (const { name, backing } of attachedLoops()) {
    const device = blockNameOf(backing); // never a look at the file: it may sit on a hung mount
    if (device !== undefined) byBacking.set(device, [...(byBacking.get(device) ?? []), name]);
  }
  return byBacking;
}

/**
 * Every block device whose contents live on this disk: the disk, its partitions, and whatever is
 * stacked on them (dm-crypt, LVM, md, a loop device attached to one), recursively. Mounts of any
 * of them make the disk busy.
 */
export function stackedDevices(disk: string): { name: string; majMin: string }[] {
  const out: { name: string; majMin: string }[] = [];
  const seen = new Set<string>();
  const loops = loopsOnDevices();
  const visit = (name: string, sysDir: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const majMin = readSysText(path.join(sysDir, 'dev'));
    if (majMin) out.push({ name, majMin });
    for (const holder of holderNames(sysDir)) visit(holder, path.join(SYS_BLOCK, holder));
    for (const loop of loops.get(name) ?? []) {
      visit(loop, path.join(SYS_BLOCK, loop));
      for (const part of partitionNames(loop)) visit(part, path.join(SYS_BLOCK, loop, part));
    }
  };
  visit(disk, path.join(SYS_BLOCK, disk));
  for (const part of partitionNames(disk)) visit(part, path.join(SYS_BLOCK, disk, part));
  return out;
}

/** Mount points of a disk, its partitions and anything stacked on them. */
export function diskMountpoints(disk: string, mounts = readMountTable(), swaps = readSwapDevices()): string[] {
  const result: string[] = [];
  for (const dev of stackedDevices(disk)) {
    result.push(...(mounts.get(dev.majMin) ?? []));
    if (swaps.has(`/dev/${dev.name}`)) result.push('[SWAP]');
  }
  return [...new Set(result)];
}

/** Serial number from whatever sysfs exposes for this kind of disk (NVMe, virtio, SCSI/USB via vpd). */
export function readSerial(disk: string): string | undefined {
  const base = path.join(SYS_BLOCK, disk);
  for (const file of ['device/serial', 'serial', 'device/wwid', 'wwid']) {
    const text = readSysText(path.join(base, file));
    if (text) return text;
  }
  return readVpdSerial(path.join(base, 'device/vpd_pg80'));
}

/** SCSI VPD page 0x80 (unit serial number): 4-byte header, then ASCII. */
function readVpdSerial(file: string): string | undefined {
  try {
    const page = readFileSync(file);
    if (page.length < 5) return undefined;
    const text = page.subarray(4, 4 + (page[3] ?? 0)).toString('latin1').trim();
    return text || undefined;
  } catch {
    return undefined;
  }
}

export interface SysBlockFacts {
  name: string;
  size: number;
  readOnly: boolean;
  removable: boolean;
  logicalBlockSize: number;
  /** Increases each time a new medium or attachment appears under this name (Linux ≥ 5.15). */
  diskseq?: number;
  serial?: string;
  model: string;
}

export function readSysBlock(disk: string): SysBlockFacts | undefined {
  const base = path.join(SYS_BLOCK, disk);
  const sectors = readSysNumber(path.join(base, 'size'));
  if (sectors === undefined) return undefined;
  const vendor = readSysText(path.join(base, 'device/vendor')) ?? '';
  const model = readSysText(path.join(base, 'device/model')) ?? '';
  return {
    name: disk,
    // /sys/block/*/size counts 512-byte sectors whatever the logical block size.
    size: sectors * 512,
    readOnly: readSysText(path.join(base, 'ro')) === '1',
    removable: readSysText(path.join(base, 'removable')) === '1',
    logicalBlockSize: readSysNumber(path.join(base, 'queue/logical_block_size')) ?? 512,
    diskseq: readSysNumber(path.join(base, 'diskseq')),
    serial: readSerial(disk),
    model: `${vendor} ${model}`.replace(/\s+/g, ' ').trim(),
  };
}

/** Backing file of an attached loop device, undefined when the loop device is free. */
export function loopBackingFile(disk: string): string | undefined {
  return readSysText(path.join(SYS_BLOCK, disk, 'loop/backing_file')) || undefined;
}

/** Every attached loop device and its backing path, as sysfs gives it. */
export function attachedLoops(): { name: string; backing: string }[] {
  return listBlockNames().flatMap((name) => {
    const backing = name.startsWith('loop') ? loopBackingFile(name) : undefined;
    return backing === undefined ? [] : [{ name, backing }];
  });
}

/**
 * A cheap fingerprint of everything the drive list depends on: names, sizes, ro flags, diskseq,
 * loop attachments and the mount table. Unchanged fingerprint → no need for a full scan.
 */
export function blockFingerprint(): string {
  const parts: string[] = [];
  for (const name of listBlockNames()) {
    const base = path.join(SYS_BLOCK, name);
    parts.push(
      [name, readSysText(path.join(base, 'size')), readSysText(path.join(base, 'ro')), readSysText(path.join(base, 'diskseq')),
        readSysText(path.join(base, 'loop/backing_file')), partitionNames(name).join(',')].join('|'),
    );
  }
  parts.push(readSysText('/proc/self/mountinfo') ?? '');
  parts.push(readSysText('/proc/swaps') ?? '');
  return parts.join('\n');
}
