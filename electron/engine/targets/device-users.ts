// Who keeps a drive busy when an exclusive open of it fails (EBUSY): its mounted filesystems, the
// processes that have it or one of its partitions open (another Blockwise run, a partition
// editor), and kernel holders (device-mapper, md). Read from /proc and /sys, as fuser would.
// Before, the words were only "in use (mounted or opened by another program)".

import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { parseMountLine, readMountinfo, unescapeMountPath } from './mount-sources';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The drive's block name and its partitions' ("loop0", "loop0p1"…), or [] for anything else. */
function blockNames(devicePath: string): string[] {
  let name: string;
  try {
    name = path.basename(realpathSync(devicePath));
  } catch {
    return [];
  }
  const sys = `/sys/class/block/${name}`;
  if (!existsSync(`${sys}/dev`)) return [];
  let entries: string[] = [];
  try {
    entries = readdirSync(sys);
  } catch {
    /* no partitions to list */
  }
  return [name, ...entries.filter((entry) => existsSync(`${sys}/${entry}/partition`))];
}

/** A process's name, said as Blockwise when it is one of ours (the CLI's engine runs in node). */
function processName(pid: string): string {
  const command = (read(`/proc/${pid}/cmdline`) ?? '').split('\0');
  if (command.some((arg) => /blockwise|engine-process/.test(arg))) return 'another Blockwise flash, check or backup';
  return (read(`/proc/${pid}/comm`) ?? '?').trim();
}

/** "mounted at /mnt/x (/dev/sdb1); open in gparted (pid 1234); held by dm-0", or undefined when nothing is found. */
export function describeDeviceUsers(devicePath: string): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const names = blockNames(devicePath);
  if (names.length === 0) return undefined;
  const parts: string[] = [];

  const byMajMin = new Map(names.map((name) => [(read(`/sys/class/block/${name}/dev`) ?? '').trim(), name]));
  for (const line of readMountinfo().split('\n')) {
    const mount = parseMountLine(line);
    const name = mount && byMajMin.get(mount.majMin);
    if (mount && name) parts.push(`mounted at ${unescapeMountPath(mount.mountPoint)} (/dev/${name})`);
  }

  const devices = new Set(names.map((name) => `/dev/${name}`));
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    /* no /proc */
  }
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const open = fds.map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return undefined;
      }
    });
    const held = open.find((file) => file !== undefined && devices.has(file));
    if (held) parts.push(`open in ${processName(pid)} (pid ${pid}${held === [...devices][0] ? '' : `, ${held}`})`);
  }

  for (const name of names) {
    let holders: string[] = [];
    try {
      holders = readdirSync(`/sys/class/block/${name}/holders`);
    } catch {
      /* none */
    }
    for (const holder of holders) parts.push(`held by /dev/${holder} (device-mapper, RAID or similar, on /dev/${name})`);
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}
