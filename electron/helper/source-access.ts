// The helper reads images as root, so it must not read what the person who started it could not:
// otherwise "flash /etc/shadow to my stick" would copy root-only files out through a drive.
// Before a file source is opened, its real path is checked against the invoking user's uid and
// groups (owner/group/other bits, and search permission on every parent folder). Block and
// character devices as sources (cloning a disk) are refused unless the helper was told to allow
// them. ACLs are ignored, so the check can only be stricter than the kernel, never looser.
//
// Known limit: between this check and the engine's open, a user who can write a parent folder
// could swap the checked file for a symlink. The check runs on the realpath and the engine gets
// that realpath, which narrows the window to a rename in a folder the user owns.

import { execFileSync } from 'node:child_process';
import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../shared/errors';
import type { SourceSpec } from '../../shared/flash-types';
import { findBmapBeside } from '../engine/bmap/bmap-choice';
import type { EngineRequest } from '../engine/protocol';

export interface InvokingUser {
  uid: number;
  /** Primary and supplementary groups. */
  groups: number[];
}

/**
 * Who asked for the helper: pkexec and sudo say so in the environment they set (the caller
 * cannot forge those); `--uid` from the app's own command line counts only when neither is set
 * (macOS/Windows prompts, which pass no such variable). Undefined: the helper was not elevated.
 */
export function invokingUid(env: NodeJS.ProcessEnv, argUid: number | undefined): number | undefined {
  for (const value of [env.PKEXEC_UID, env.SUDO_UID]) {
    if (value !== undefined && /^\d+$/.test(value)) return Number(value);
  }
  return argUid;
}

/** The uid's groups as the system knows them (`id -G`); only its primary group if that fails. */
export function userGroups(uid: number): number[] {
  try {
    const out = execFileSync('id', ['-G', String(uid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const groups = out.trim().split(/\s+/).filter((g) => /^\d+$/.test(g)).map(Number);
    if (groups.length > 0) return groups;
  } catch {
    // an unknown uid (no passwd entry) has no groups beyond what the file's bits grant "other"
  }
  return [];
}

/** Does `user` get `bits` (r=4, w=2, x=1) on a file with these stats, by classic Unix rules? */
export function permits(stats: Pick<Stats, 'uid' | 'gid' | 'mode'>, user: InvokingUser, bits: number): boolean {
  if (user.uid === 0) return true; // root reads and searches everything (all this file asks)
  const shift = stats.uid === user.uid ? 6 : user.groups.includes(stats.gid) ? 3 : 0;
  return ((stats.mode >> shift) & bits) === bits;
}

function refused(given: string, why: string): BlockwiseError {
  return new BlockwiseError('PERMISSION_DENIED', `The helper refuses to read ${given}: ${why}. Nothing was written.`, { path: given });
}

/**
 * Checks that `user` may read `given` and returns its real path (what the engine must open).
 * Throws PERMISSION_DENIED naming the file (and the folder, when that is what blocks it).
 */
export async function checkReadable(given: string, user: InvokingUser, allowDevices: boolean): Promise<string> {
  let real: string;
  try {
    real = await fsp.realpath(given);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Don't reveal whether a file exists inside a folder the user may not search.
    throw new BlockwiseError('SOURCE_UNREADABLE', `Cannot open image ${given}: ${code === 'ENOENT' ? 'it does not exist or is not reachable' : code}.`, {
      path: given,
      syscode: code,
    });
  }
  // Every folder on the way must be searchable (x) by the user, as the kernel would demand.
  const parts = real.split(path.sep).filter(Boolean);
  let dir = path.parse(real).root;
  for (const part of parts.slice(0, -1)) {
    if (!permits(await fsp.stat(dir), user, 1)) throw refused(given, `uid ${user.uid} may not enter the folder ${dir}`);
    dir = path.join(dir, part);
  }
  if (!permits(await fsp.stat(dir), user, 1)) throw refused(given, `uid ${user.uid} may not enter the folder ${dir}`);
  const stats = await fsp.stat(real);
  if (stats.isBlockDevice() || stats.isCharacterDevice()) {
    if (!allowDevices) throw refused(given, 'it is a device, and reading a drive as the image is not allowed through the helper');
  } else if (!stats.isFile()) {
    throw refused(given, 'it is not a regular file');
  }
  if (!permits(stats, user, 4)) throw refused(given, `uid ${user.uid} may not read it (mode ${(stats.mode & 0o777).toString(8)}, owner ${stats.uid})`);
  return real;
}

export interface SourcePolicy {
  user: InvokingUser;
  allowDeviceSources: boolean;
}

async function vetSource(source: SourceSpec, policy: SourcePolicy): Promise<SourceSpec> {
  if (source.kind === 'url') {
    // A download cache would be read and written as root at a path the caller chose: not kept.
    const { cachePath: _dropped, ...rest } = source;
    return rest;
  }
  return { ...source, path: await checkReadable(source.path, policy.user, policy.allowDeviceSources) };
}

/** The request as the engine may run it (real paths, no root-written cache), or a refusal. */
export async function vetRequest(request: EngineRequest, policy: SourcePolicy): Promise<EngineRequest> {
  if (request.type === 'cancel' || request.type === 'check') return request; // a check reads no file
  if (request.type === 'backup') throw new BlockwiseError('TARGET_NOT_ALLOWED', 'The helper does not make backups: it would write the file as root.');
  if (request.type === 'verify') return { ...request, job: { ...request.job, source: await vetSource(request.job.source, policy) } };
  const options = { ...request.job.options };
  // An explicit block map is read as root too; the one beside the image is checked by the same rule.
  if (typeof options.bmapPath === 'string') options.bmapPath = await checkReadable(options.bmapPath, policy.user, false);
  const source = await vetSource(request.job.source, policy);
  if (options.bmapPath === undefined && source.kind === 'file') options.bmapPath = await besideBmap(source.path, policy.user);
  return { ...request, job: { ...request.job, source, options } };
}

/** The .bmap the engine would pick up beside the image, if the user may read it; else none (null). */
async function besideBmap(imagePath: string, user: InvokingUser): Promise<string | null | undefined> {
  const beside = await findBmapBeside(imagePath);
  if (beside === undefined) return undefined;
  return checkReadable(beside, user, false).catch(() => null);
}
