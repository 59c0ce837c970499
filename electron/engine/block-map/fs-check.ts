// Test support: proves a written filesystem is intact — its own checker passes and every file
// reads back equal to the original — using the real tools (e2fsck/debugfs, fsck.vfat/mtools).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import type { BuiltPartition } from './test-images';

const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

/** `volume` is a file or block device holding exactly the partition's bytes. */
export function checkFilesystem(volume: string, partition: BuiltPartition, label: string): void {
  const fs = partition.spec.fs;
  if (fs === 'raw') return;
  if (fs.startsWith('ext')) {
    const fsck = spawnSync('e2fsck', ['-fn', volume], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, `${label}: e2fsck -fn failed (${fsck.status}):\n${fsck.stdout}\n${fsck.stderr}`);
  } else {
    const fsck = spawnSync('fsck.vfat', ['-n', volume], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, `${label}: fsck.vfat -n failed (${fsck.status}):\n${fsck.stdout}\n${fsck.stderr}`);
  }
  assert.ok(partition.files.size > 0, `${label}: the test image holds no files`);
  for (const [file, content] of partition.files) {
    const read = fs.startsWith('ext')
      ? execFileSync('debugfs', ['-R', `cat ${file}`, volume], { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] })
      : execFileSync('mcopy', ['-n', '-i', volume, `::${file}`, '-'], { maxBuffer: 1 << 28, env, stdio: ['ignore', 'pipe', 'pipe'] });
    assert.ok(read.equals(content), `${label}: ${file} differs after writing (${read.length} bytes read, ${content.length} expected)`);
  }
}
