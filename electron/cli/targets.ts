// Turning `--to` arguments into targets the engine may write: a drive that `blockwise list` shows
// (loop devices only with the test opt-in), never a system drive, or a regular file.

import { existsSync, promises as fsp, realpathSync } from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import { BlockwiseError } from '../../shared/errors';
import type { SourceSpec, TargetSpec } from '../../shared/flash-types';
import { listDrives } from '../drives/scanner';
import { formatBytes } from '../../shared/format-bytes';
import { UsageError } from './usage-error';

export interface ResolveOptions {
  /** verify: the target must exist and need not be writable. */
  forReading?: boolean;
}

const labels = new Map<string, string>();
/** Targets that are image files (existing or to be created), by resolved path: their errors get a file's advice. */
const imageFiles = new Set<string>();

/** Is `targetPath` (as resolved) an image file this command was asked to write, not a drive? */
export function isImageFileTarget(targetPath: string | undefined): boolean {
  return targetPath !== undefined && imageFiles.has(path.resolve(targetPath));
}

/**
 * A refusal of an argument before anything runs, whose words already say what to do: printed as it
 * is, without the table's advice for its code (which speaks of a drive that was there and is gone).
 */
export class TargetRefusal extends BlockwiseError {}

/**
 * The whole drive a partition belongs to: from sysfs on Linux (/sys/class/block/sdb1 sits inside
 * sdb's folder), by name on macOS (disk2s1 → disk2). Undefined for anything that is no partition.
 */
export function parentDrive(devicePath: string): string | undefined {
  const name = path.basename(devicePath);
  if (process.platform === 'linux') {
    const sys = `/sys/class/block/${name}`;
    if (!existsSync(`${sys}/partition`)) return undefined;
    try {
      return `/dev/${path.basename(path.dirname(realpathSync(sys)))}`;
    } catch {
      return undefined;
    }
  }
  const mac = /^(r?disk\d+)s\d+$/.exec(name);
  return mac ? `/dev/${mac[1]}` : undefined;
}

/** A partition given where a whole drive is wanted: names the drive it belongs to, and how to give that. */
function partitionRefusal(given: string, real: string, parent: string, parentIsSystem: boolean, forReading: boolean): TargetRefusal {
  const named = real === given ? given : `${given} (${real})`;
  const details = { path: given, drive: parent };
  if (parentIsSystem && !forReading) {
    return new TargetRefusal(
      'SYSTEM_DRIVE',
      `${named} is a partition of ${parent}, a system drive: Blockwise writes whole drives only, and never that one. Pick a drive from "blockwise list".`,
      details,
    );
  }
  const whole = forReading ? `Compare with the whole drive: --against ${parent}.` : `Flash the whole drive: --to ${parent} (everything on it is erased).`;
  return new TargetRefusal('TARGET_NOT_ALLOWED', `${named} is a partition of ${parent}; Blockwise ${forReading ? 'reads' : 'writes'} whole drives only. ${whole}`, details);
}

/** Names the kernel (or macOS, or Windows) gives whole drives and partitions: sdb, nvme0n1, mmcblk0p1, disk2… */
const DRIVE_NAME = /^(?:[sh]d[a-z]{1,2}\d*|x?vd[a-z]{1,2}\d*|nvme\d+n\d+(?:p\d+)?|mmcblk\d+(?:p\d+)?|loop\d+|sr\d+|md\d+|dm-\d+|r?disk\d+(?:s\d+)?|PhysicalDrive\d+)$/i;

/** A missing path here is a mistyped or unplugged drive, never a file to create; /dev/shm is RAM for files. */
function isDevicePath(resolved: string): boolean {
  return resolved.startsWith('/dev/') && !resolved.startsWith('/dev/shm/');
}

/** Where a chain of symbolic links ends when that path does not exist; undefined for anything else. */
async function danglingLinkTarget(given: string): Promise<string | undefined> {
  let at = path.resolve(given);
  for (let hops = 0; hops < 40; hops++) {
    const link = await fsp.readlink(at).catch(() => undefined);
    if (link === undefined) return hops === 0 ? undefined : at;
    at = path.resolve(path.dirname(at), link);
  }
  return undefined;
}

export async function resolveTargets(paths: string[], _source: SourceSpec, options: ResolveOptions = {}): Promise<TargetSpec[]> {
  const includeLoop = process.env.BLOCKWISE_INCLUDE_LOOP === '1';
  let drives: Awaited<ReturnType<typeof listDrives>> | undefined;
  const out: TargetSpec[] = [];
  for (const given of paths) {
    if (given.trim() === '') throw new UsageError('--to was given an empty path. Give a drive (see "blockwise list") or an image file to create.');
    const stat = await fsp.stat(given).catch(() => undefined);
    if (!stat) {
      const flag = options.forReading ? '--against' : '--to';
      // A link to a drive that is not plugged in (~/sdcard → /dev/disk/by-id/usb-…): opening it to
      // create a file would make a regular file in /dev and call writing it a success.
      const pointsTo = await danglingLinkTarget(given);
      if (pointsTo !== undefined && isDevicePath(pointsTo)) {
        throw new TargetRefusal(
          'TARGET_NOT_FOUND',
          `${given} is a link to ${pointsTo}, which does not exist: no drive is connected under that name (is it plugged in?). Run "blockwise list" to see the drives, and give one of them as ${flag}.`,
          { path: given },
        );
      }
      if (isDevicePath(path.resolve(given)) || given.startsWith('\\\\.\\')) {
        throw new TargetRefusal(
          'TARGET_NOT_FOUND',
          `${given} does not exist: no drive is connected under that name. Run "blockwise list" to see the drives, and give one of them as ${flag}.`,
          { path: given },
        );
      }
      if (options.forReading) {
        throw new TargetRefusal('TARGET_NOT_FOUND', `${given} does not exist. Give the drive or image file to compare with the image as --against (see "blockwise list" for the drives).`, {
          path: given,
        });
      }
      // `--to sdb` for /dev/sdb: a file named sdb would be made here, so ask rather than guess.
      if (!given.includes(path.sep) && (await fsp.stat(path.join('/dev', given)).then((s) => s.isBlockDevice(), () => false))) {
        throw new UsageError(`--to ${given}: there is no file "${given}" here. For the drive, give its full path: --to /dev/${given} (see "blockwise list"); to create an image file, --to ./${given}`);
      }
      // The same with the drive not plugged in (or named otherwise this time): an image file called
      // "sdb" would be written and called a success.
      if (!given.includes(path.sep) && DRIVE_NAME.test(given)) {
        throw new UsageError(
          `--to ${given}: no drive /dev/${given} is connected, and no file "${given}" is here. Plug the drive in and give its full path as "blockwise list" shows it (--to /dev/…); to create an image file called ${given}, --to ./${given}`,
        );
      }
      const folder = path.dirname(path.resolve(given));
      if (!(await fsp.stat(folder).then((s) => s.isDirectory(), () => false))) {
        throw new UsageError(`--to ${given}: the folder ${folder} does not exist, so the image file cannot be created there`);
      }
      labels.set(path.resolve(given), 'new file');
      imageFiles.add(path.resolve(given));
      out.push({ path: path.resolve(given), createFile: true });
      continue;
    }
    if (stat.isFile()) {
      // /dev holds drives; a regular file there is what `dd of=/dev/sdb` leaves when no drive was
      // plugged in (in RAM, gone at reboot). Writing it was reported as the drive written and verified.
      const real = await fsp.realpath(given);
      if (isDevicePath(real)) {
        throw new TargetRefusal(
          'TARGET_NOT_FOUND',
          `${given}${real === path.resolve(given) ? '' : ` (${real})`} is a regular file, not a drive: no drive is connected under that name, and a program wrote a file there instead (dd to a drive that was unplugged does this; it lives in memory). Delete it (sudo rm ${real}), plug the drive in, and give it as ${options.forReading ? '--against' : '--to'} as "blockwise list" shows it.`,
          { path: given },
        );
      }
      labels.set(path.resolve(given), `file, ${formatBytes(stat.size)}`);
      imageFiles.add(path.resolve(given));
      out.push({ path: path.resolve(given) });
      continue;
    }
    if (stat.isDirectory() && !options.forReading) {
      // A folder: the image file to create in it is what was meant ("neither a drive nor a regular file" said nothing of that).
      const suggested = path.join(given, imageFileName(_source));
      throw new TargetRefusal('TARGET_NOT_ALLOWED', `${given} is a folder. To save the image as a file in it, give the file's name:\n  --to ${suggested}`, { path: given });
    }
    if (!stat.isBlockDevice()) {
      throw new BlockwiseError('TARGET_NOT_ALLOWED', `${given} is neither a drive nor a regular file.`, { path: given });
    }
    drives ??= await listDrives({ includeLoop });
    const real = await fsp.realpath(given);
    const drive = drives.find((d) => d.path === real || d.path === given);
    const parent = drive ? undefined : parentDrive(real);
    if (parent) throw partitionRefusal(given, real, parent, drives.find((d) => d.path === parent)?.system ?? false, options.forReading ?? false);
    if (!drive) {
      const loop = /\/loop\d+$/.test(real);
      throw new BlockwiseError(
        'TARGET_NOT_ALLOWED',
        loop && !includeLoop
          ? `${given} is a loop device; those are only accepted with BLOCKWISE_INCLUDE_LOOP=1 (for tests).`
          : `${given} is not a drive Blockwise can write: it is not in "blockwise list". Pick a drive from "blockwise list".`,
        { path: given },
      );
    }
    if (drive.system && !options.forReading) {
      throw new BlockwiseError('SYSTEM_DRIVE', `${given} is a system drive (${drive.model || 'internal disk'}); Blockwise will not write to it.`, {
        path: given,
      });
    }
    if (drive.readOnly && !options.forReading) {
      throw new BlockwiseError('TARGET_READ_ONLY', `${given} is read-only (write-protected).`, { path: given });
    }
    labels.set(drive.path, `${drive.model || 'unknown model'}, ${formatBytes(drive.size)}, ${drive.bus}`);
    const identity: TargetSpec['identity'] = { size: drive.size };
    if (drive.model) identity.model = drive.model;
    if (drive.serial) identity.serial = drive.serial;
    out.push({ path: drive.path, identity });
  }
  return out;
}

/** A name for the image written as a file: the source's, without what compressed or packed it. */
function imageFileName(source: SourceSpec): string {
  const name = source.kind === 'file' ? path.basename(source.path) : path.basename(new URL(source.url).pathname);
  const bare = name.replace(/(\.(gz|xz|zst|bz2|zip|tar|tgz))+$/i, '');
  if (bare === '') return 'copy.img';
  return /\.(img|iso|raw|bin)$/i.test(bare) ? bare : `${bare}.img`;
}

/** Shows what is about to be erased and waits for an explicit "yes". */
export async function confirmTargets(targets: TargetSpec[]): Promise<void> {
  const lines = targets.map((t) => `  ${t.path}  (${labels.get(t.path) ?? 'drive'})`);
  if (!process.stdin.isTTY) {
    throw new UsageError(`refusing to erase without confirmation:\n${lines.join('\n')}\nPass --yes to confirm when not running in a terminal.`);
  }
  process.stderr.write(`All data on the following will be ERASED:\n${lines.join('\n')}\n`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question('Type "yes" to continue: ').catch((error: NodeJS.ErrnoException) => {
      // Ctrl-C or Ctrl-D at the prompt: readline rejects with an AbortError, which ended the
      // command in a stack trace (exit 70). It is a cancel before anything was written.
      if (error?.code !== 'ABORT_ERR') throw error;
      process.stderr.write('\n');
      throw new TargetRefusal('CANCELLED', 'Not confirmed (cancelled at the question): nothing was written.');
    });
    if (!['yes', 'y'].includes(answer.trim().toLowerCase())) throw new UsageError('not confirmed; nothing was written');
  } finally {
    rl.close();
  }
}
