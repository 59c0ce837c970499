// "Is /dev/sdX still the drive the user chose?" A stick pulled out and another pushed in gets
// the same name; writing to it would be the one unforgivable bug. Re-read size, model and serial
// right before opening and compare with what the scanner showed the user.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../shared/errors';
import type { DriveIdentity, TargetSpec } from '../../shared/flash-types';
import { loopBackingFile, readSysBlock } from './linux-block';
import type { DriveInfo } from '../../shared/drive-types';

/** The identity a host puts into a TargetSpec for a drive the scanner listed. */
export function identityOf(drive: DriveInfo): DriveIdentity {
  const identity: DriveIdentity = { size: drive.size, model: drive.model };
  if (drive.serial) identity.serial = drive.serial;
  return identity;
}

/** What the device at `devicePath` is now, read the same way the scanner reads it (Linux). */
export async function currentIdentity(devicePath: string): Promise<DriveIdentity | undefined> {
  if (process.platform !== 'linux') return undefined;
  const real = await fsp.realpath(devicePath).catch(() => devicePath);
  const name = path.basename(real);
  const facts = readSysBlock(name);
  if (!facts) return undefined;
  const backing = /^loop\d+$/.test(name) ? loopBackingFile(name) : undefined;
  if (backing !== undefined) return { size: facts.size, model: `Loop device (${backing})`, serial: backing };
  const identity: DriveIdentity = { size: facts.size };
  if (facts.model) identity.model = facts.model;
  if (facts.serial) identity.serial = facts.serial;
  return identity;
}

/** Names the first difference between what was chosen and what is there, or undefined if none. */
export function identityMismatch(chosen: DriveIdentity, now: DriveIdentity): string | undefined {
  if (chosen.size !== undefined && now.size !== chosen.size) {
    return `its size is now ${now.size ?? 'unknown'} bytes, not ${chosen.size}`;
  }
  // Serials are the strongest evidence; compare them whenever both sides have one.
  if (chosen.serial && now.serial !== undefined && now.serial !== chosen.serial) {
    return `its serial number is now "${now.serial}", not "${chosen.serial}"`;
  }
  if (chosen.serial && now.serial === undefined) return `it no longer reports the serial number "${chosen.serial}"`;
  // drivelist's description may carry labels beyond the model; only compare when both came from
  // the same source (the scanner prefers sysfs vendor+model, which is what `now` holds).
  if (chosen.model && now.model && chosen.model !== now.model && !chosen.model.includes(now.model)) {
    return `its model is now "${now.model}", not "${chosen.model}"`;
  }
  return undefined;
}

export async function checkIdentity(spec: TargetSpec): Promise<void> {
  if (!spec.identity) return;
  let stat;
  try {
    stat = await fsp.stat(spec.path);
  } catch {
    throw new BlockwiseError('TARGET_NOT_FOUND', `${spec.path} is gone (was the drive unplugged?). Nothing was written.`, { path: spec.path });
  }
  if (!stat.isBlockDevice()) return;
  const now = await currentIdentity(spec.path);
  if (!now) return;
  const mismatch = identityMismatch(spec.identity, now);
  if (mismatch) {
    throw new BlockwiseError(
      'TARGET_CHANGED',
      `${spec.path} is no longer the drive you chose: ${mismatch}. Another drive may have been plugged in under the same name. Nothing was written.`,
      { path: spec.path },
    );
  }
}
