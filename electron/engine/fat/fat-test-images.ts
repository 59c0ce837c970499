// Test support for the FAT tests: real images made and checked by dosfstools and mtools, so the
// module is judged by the tools everyone else uses, not by itself.

import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findExecutable } from '../sources/decoder-choice';
import { FatVolume, type FatVolumeOptions } from './fat-volume';
import { fileDescriptorIO } from './sector-io';

const TOOLS = ['mkfs.vfat', 'fsck.vfat', 'mcopy', 'mtype', 'mdir', 'sfdisk', 'sgdisk'];
const SBIN_PATH = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
// mtools refuses images whose geometry it finds odd unless told not to check.
const MTOOLS_ENV = { ...SBIN_PATH, MTOOLS_SKIP_CHECK: '1', LC_ALL: 'C.UTF-8' };

/** Why the FAT tests cannot run here, or undefined. */
export function fatToolsSkipReason(): string | undefined {
  const missing = TOOLS.filter((tool) => !findExecutable(tool, SBIN_PATH));
  return missing.length ? `needs ${missing.join(', ')} (apt-get install dosfstools mtools fdisk gdisk)` : undefined;
}

export function scratchDir(): { dir: string; dispose(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-fat-'));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export function run(command: string, args: string[], input?: string): string {
  return execFileSync(command, args, { env: MTOOLS_ENV, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A new image file holding an empty FAT filesystem of `kib` KiB. */
export function makeFatImage(dir: string, name: string, bits: 12 | 16 | 32, kib: number, extra: string[] = []): string {
  const image = path.join(dir, name);
  run('mkfs.vfat', ['-C', '-F', String(bits), '-i', '12345678', ...extra, image, String(kib)]);
  return image;
}

/** mtools' name for a file in the root of the filesystem at `offset` of `image`. */
const drive = (image: string, offset: number) => (offset ? `${image}@@${offset}` : image);

export function mcopyIn(image: string, name: string, content: Buffer | string, offset = 0): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-mcopy-'));
  try {
    const source = path.join(dir, 'content');
    writeFileSync(source, content);
    run('mcopy', ['-o', '-i', drive(image, offset), source, `::${name}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function mtype(image: string, name: string, offset = 0): Buffer {
  return execFileSync('mtype', ['-i', drive(image, offset), `::${name}`], { env: MTOOLS_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The names in the root directory as mtools reads them (long names where there are any). */
export function mdirNames(image: string, offset = 0): string[] {
  return run('mdir', ['-b', '-i', drive(image, offset), '::'])
    .split('\n')
    .filter((line) => line.startsWith('::/'))
    .map((line) => line.slice(3));
}

/** `fsck.vfat -n` (check only): its exit status and what it printed besides the two usual lines. */
export function fsck(image: string): { status: number | null; complaints: string[] } {
  const result = spawnSync('fsck.vfat', ['-n', image], { env: SBIN_PATH, encoding: 'utf8' });
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
  const complaints = lines.filter((line) => !/^fsck\.fat \d/.test(line) && !line.startsWith(`${image}: `));
  return { status: result.status, complaints };
}

/** Opens the image read-write, runs `work` on the FAT volume at `offset`, and closes it. */
export async function withVolume<T>(image: string, work: (volume: FatVolume) => Promise<T>, offset = 0, options: FatVolumeOptions = {}): Promise<T> {
  const fd = openSync(image, 'r+');
  try {
    return await work(await FatVolume.open(fileDescriptorIO(fd), offset, options));
  } finally {
    closeSync(fd);
  }
}
