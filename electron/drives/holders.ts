// Which processes keep a mount point busy: working directory, root, executable, open files or
// mapped files inside it. Read from /proc directly (what fuser -m does), so no tool is needed.
// And which loop devices do: the kernel holds their backing files, so no process shows them.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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
  let names: string[] = [];
  try {
    names = readdirSync('/sys/block').filter((n) => n.startsWith('loop'));
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names) {
    let backing: string;
    try {
      backing = readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim().replace(/ \(deleted\)$/, '');
    } catch {
      continue; // not attached
    }
    if (inside(backing, mountpoint)) found.push(`loop device /dev/${name} (backing file ${backing}; unmount what is on it and detach it: losetup -d /dev/${name})`);
  }
  return found;
}

/** "sleep (pid 1234, working directory /mnt/x), bash (pid 99, open file /mnt/x/a)" */
export function describeHolders(holders: Holder[]): string {
  return holders.map((h) => `${h.command} (pid ${h.pid}, ${h.how})`).join(', ');
}
