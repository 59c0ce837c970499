// The exact commands Blockwise runs to unmount, re-read and eject a drive on each OS. Pure, so
// the macOS and Windows paths are unit-tested here even though only Linux runs them in CI.

export type Platform = 'linux' | 'darwin' | 'win32';

export interface Command {
  command: string;
  args: string[];
}

/** \\.\PhysicalDrive2 → 2 */
export function windowsDiskNumber(devicePath: string): number {
  const match = /^\\\\\.\\PhysicalDrive(\d+)$/i.exec(devicePath);
  if (!match) throw new Error(`${devicePath} is not a Windows physical drive path (\\\\.\\PhysicalDriveN)`);
  return Number(match[1]);
}

/** /dev/rdisk4 or /dev/disk4 → /dev/disk4 (diskutil wants the whole disk, not the raw node). */
export function macDiskPath(devicePath: string): string {
  const match = /^\/dev\/r?(disk\d+)$/.exec(devicePath);
  if (!match) throw new Error(`${devicePath} is not a macOS whole-disk path (/dev/diskN)`);
  return `/dev/${match[1]}`;
}

function powershell(script: string): Command {
  return { command: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', script] };
}

/**
 * Unmount every mounted filesystem of a drive. Linux: one `umount` per mount point, deepest first
 * (a filesystem mounted inside another must go first). macOS: diskutil does the whole disk.
 * Windows: remove every drive letter / access path of the disk's partitions.
 */
export function unmountCommands(platform: Platform, devicePath: string, mountpoints: string[]): Command[] {
  switch (platform) {
    case 'linux':
      return [...mountpoints]
        .filter((m) => m.startsWith('/'))
        .sort((a, b) => b.length - a.length || a.localeCompare(b))
        .map((m) => ({ command: 'umount', args: [m] }));
    case 'darwin':
      return [{ command: 'diskutil', args: ['unmountDisk', macDiskPath(devicePath)] }];
    case 'win32': {
      const n = windowsDiskNumber(devicePath);
      return [
        powershell(
          `$ErrorActionPreference = 'Stop'; Get-Partition -DiskNumber ${n} | ForEach-Object { $p = $_; ` +
            `$p.AccessPaths | Where-Object { $_ -notlike '\\\\?\\Volume*' } | ForEach-Object { ` +
            `Remove-PartitionAccessPath -DiskNumber ${n} -PartitionNumber $p.PartitionNumber -AccessPath $_ } }`,
        ),
      ];
    }
  }
}

/** Ask the OS to read the new partition table, so the image's partitions appear. */
export function rereadCommands(platform: Platform, devicePath: string): Command[] {
  switch (platform) {
    case 'linux':
      // Both run (see after-write.ts): BLKRRPART, then partx to sync partition by partition.
      return [
        { command: 'blockdev', args: ['--rereadpt', devicePath] },
        { command: 'partx', args: ['-u', devicePath] },
      ];
    case 'darwin':
      return []; // diskarbitrationd notices the new table on its own.
    case 'win32':
      return [powershell(`Update-Disk -Number ${windowsDiskNumber(devicePath)}`)];
  }
}

/** Eject / power off: the drive may be pulled out safely afterwards. Alternatives in order. */
export function ejectCommands(platform: Platform, devicePath: string): Command[] {
  switch (platform) {
    case 'linux':
      return [
        { command: 'udisksctl', args: ['power-off', '--no-user-interaction', '-b', devicePath] },
        { command: 'eject', args: [devicePath] },
      ];
    case 'darwin':
      return [{ command: 'diskutil', args: ['eject', macDiskPath(devicePath)] }];
    case 'win32':
      return [powershell(`Set-Disk -Number ${windowsDiskNumber(devicePath)} -IsOffline $true`)];
  }
}
