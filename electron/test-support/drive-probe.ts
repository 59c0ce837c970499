// What a system would recognise on a drive: libblkid's low-level probe (`blkid -p`), which udev,
// desktop automounters and installers rely on. Tests use it to show that a flash that stopped
// early leaves neither the drive's old layout nor a half-written new one for anything to find.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { HELD_BACK } from '../engine/head-layout';
import { readFileRange } from './loop-device';

/** What `blkid -p` finds on `file` (a device or an image file): its KEY=value lines, or '' for nothing. */
export function probeDrive(file: string): string {
  const r = spawnSync('blkid', ['-p', '-o', 'export', file], { encoding: 'utf8' });
  if (r.error) throw new Error(`blkid could not run (${r.error.message}): install util-linux`);
  if (r.status === 2) return '';
  assert.equal(r.status, 0, `blkid -p ${file}: ${r.stderr}`);
  return r.stdout.replace(/^DEVNAME=.*\n/m, '').trim();
}

/** The drive's held-back head reads as zeros and blkid finds no partition table and no filesystem. */
export function assertShowsNothing(file: string, what: string): void {
  assert.ok(readFileRange(file, 0, HELD_BACK).equals(Buffer.alloc(HELD_BACK)), `${what}: the held-back head must read as zeros`);
  assert.equal(probeDrive(file), '', `${what}: blkid -p must find no partition table and no filesystem`);
}
