// Which processes keep a mount point busy: working directory, root, executable, open files or
// mapped files inside it. Read from /proc directly (what fuser -m does), so no tool is needed.
// And which loop devices do: the kernel holds their backing files, so no process shows them.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { attachedLoops } from './linux-block';

export interface Holder {
  pid: number;
  command: string;
  /** How it holds the mount: cwd, root, exe, an open file, a mapping. */
  how: string;
}

function inside(file: string, mountpoint: string): boolean {
  if (mountpoint === '/') return file.startsWith('/');
  return file === mountpoint || file.startsWith(mountpoint + '/');
}

function link(file: string): string | undefined {
  try {
    return readlinkSync(file).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

function commandOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

function holdOf(pid: string, mountpoint: string): string | undefined {
  for (const what of ['cwd', 'root', 'exe'] as const) {
    const target = link(`/proc/${pid}/${what}`);
    // Every process has root "/"; that only counts when the mount point itself is "/".
    if (target && inside(target, mountpoint) && !(what === 'root' && target === '/' && mountpoint !== '/')) {
      return what === 'cwd' ? `working directory ${target}` : `${what} ${target}`;
    }
  }
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    /* gone, or not ours to see */
  }
  for (const fd of fds) {
    const target = link(`/proc/${pid}/fd/${fd}`);
    if (target && inside(target, mountpoint)) return `open file ${target}`;
  }
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const file = line.slice(line.indexOf('/'));
      if (line.includes('/') && inside(file, mountpoint)) return `mapped file ${file}`;
    }
  } catch {
    /* gone */
  }
  return undefined;
}

/** Processes holding anything inside `mountpoint` (never this process itself). */
export function findHolders(mountpoint: string): Holder[] {
  if (process.platform !== 'linux') return [];
  const holders: Holder[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return [];
  }
  for (const pid of pids) {
    const how = holdOf(pid, mountpoint);
    if (how) holders.push({ pid: Number(pid), command: commandOf(pid), how });
  }
  return holders;
}

/**
 * Loop devices whose backing file is inside `mountpoint` (a disk image attached from the drive),
 * each as "loop device /dev/loop5 (backing file /mnt/x/disk.img; …)".
 */
export function findLoopsInside(mountpoint: string): string[] {
  if (process.platform !== 'linux') return [];
  return attachedLoops().flatMap(({ name, backing }) => {
    const file = backing.replace(/ \(deleted\)$/, '');
    return inside(file, mountpoint) ? [`loop device /dev/${name} (backing file ${file}; unmount what is on it and detach it: losetup -d /dev/${name})`] : [];
  });
}

/** "sleep (pid 1234, working directory /mnt/x), bash (pid 99, open file /mnt/x/a)" */
export function describeHolders(holders: Holder[]): string {
  return holders.map((h) => `${h.command} (pid ${h.pid}, ${h.how})`).join(', ');
}
