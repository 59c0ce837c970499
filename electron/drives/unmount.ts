// Unmount every filesystem of a drive before writing it; refuse, naming who holds it, when one
// cannot be unmounted. A mounted filesystem written underneath is both corrupted and corrupting.

import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BlockwiseError } from '../../shared/errors';
import { describeHolders, findHolders, findLoopsInside } from './holders';
import { diskMountpoints } from './linux-block';
import { unmountCommands, type Command, type Platform } from './os-commands';

const execFileAsync = promisify(execFile);

/** Runs a command; resolves with undefined on success or the reason (stderr) on failure. */
export async function runCommand(command: Command, timeoutMs = 30_000): Promise<string | undefined> {
  try {
    await execFileAsync(command.command, command.args, { timeout: timeoutMs });
    return undefined;
  } catch (error) {
    const e = error as { stderr?: string; message: string; code?: string | number };
    if (e.code === 'ENOENT') return `${command.command} is not installed`;
    return (e.stderr || e.message).toString().trim();
  }
}

/** Whole-disk name for a Linux device path, following symlinks (/dev/disk/by-id/… → sdb). */
async function linuxDiskName(devicePath: string): Promise<string> {
  return path.basename(await fsp.realpath(devicePath).catch(() => devicePath));
}

function unmountFailed(devicePath: string, mountpoint: string, why: string): BlockwiseError {
  return new BlockwiseError(
    'UNMOUNT_FAILED',
    `Could not unmount ${mountpoint} on ${devicePath}: ${why.replace(/[.\s]+$/, '')}. Close what uses it and try again. Nothing was written.`,
    { path: devicePath, mountpoint },
  );
}

async function unmountLinux(devicePath: string): Promise<string[]> {
  const name = await linuxDiskName(devicePath);
  const mounted = diskMountpoints(name);
  if (mounted.includes('[SWAP]')) {
    throw unmountFailed(devicePath, 'a swap area', 'it is in use as swap (turn it off with swapoff first)');
  }
  for (const command of unmountCommands('linux', devicePath, mounted)) {
    const failure = await runCommand(command);
    if (failure === undefined) continue;
    const mountpoint = command.args[0] ?? devicePath;
    const held = [describeHolders(findHolders(mountpoint)), ...findLoopsInside(mountpoint)].filter((h) => h !== '').join(', ');
    throw unmountFailed(devicePath, mountpoint, held !== '' ? `it is held by ${held}` : failure);
  }
  // Anything still there (a mount that reappeared, one in a path we could not unmount) blocks us.
  const left = diskMountpoints(name);
  if (left.length > 0) throw unmountFailed(devicePath, left[0] ?? devicePath, 'it is still mounted after umount');
  return mounted;
}

/** Unmounts everything on the drive at `devicePath`; returns the mount points that were unmounted. */
export async function unmountDrive(devicePath: string, platform: Platform = process.platform as Platform): Promise<string[]> {
  if (platform === 'linux') return unmountLinux(devicePath);
  for (const command of unmountCommands(platform, devicePath, [])) {
    const failure = await runCommand(command, 60_000);
    if (failure !== undefined) throw unmountFailed(devicePath, devicePath, failure);
  }
  return [];
}
