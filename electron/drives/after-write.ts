// After a successful write: make the new partitions appear (the kernel keeps the old table until
// asked) and, when the user wants it, eject / power off so the drive can be pulled out safely.
// Neither may turn a good flash into a failure: the bytes are already on the drive and verified.

import { BlockwiseError } from '../../shared/errors';
import { ejectCommands, rereadCommands, type Platform } from './os-commands';
import { runCommand } from './unmount';

/**
 * Asks the kernel to re-read the partition table; returns the failures when no way worked.
 * Linux runs both: BLKRRPART can report success yet add nothing (seen on loop devices with
 * kernel 6.18), while partx -u adds, resizes and drops partitions one by one to match the disk.
 */
export async function rereadPartitionTable(devicePath: string, platform: Platform = process.platform as Platform): Promise<string[]> {
  const failures: string[] = [];
  const commands = rereadCommands(platform, devicePath);
  for (const command of commands) {
    const failure = await runCommand(command);
    if (failure !== undefined) failures.push(`${command.command}: ${failure}`);
  }
  return failures.length === commands.length ? failures : [];
}

/** Ejects (or powers off) the drive; throws when no way worked, for the caller to report. */
export async function ejectDrive(devicePath: string, platform: Platform = process.platform as Platform): Promise<void> {
  // A loop device has nothing to eject: detaching it is its owner's business.
  if (platform === 'linux' && /^\/dev\/loop\d+$/.test(devicePath)) return;
  const failures: string[] = [];
  for (const command of ejectCommands(platform, devicePath)) {
    const failure = await runCommand(command);
    if (failure === undefined) return;
    failures.push(`${command.command}: ${failure}`);
  }
  throw new BlockwiseError('INTERNAL', `The image was written, but ${devicePath} could not be ejected (${failures.join('; ')}). Eject it from your desktop before unplugging.`, {
    path: devicePath,
  });
}
