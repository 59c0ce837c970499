// Raw images cut short (an interrupted download) are refused by their own metadata; complete
// images, and a partition larger than the file around a smaller filesystem, still open.

import assert from 'node:assert/strict';
import { execSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import { openSource } from './open-source';
import './register-decoders';

const MiB = 1024 * 1024;
const missing = ['mkfs.ext4', 'mkfs.vfat', 'sfdisk', 'sgdisk'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const skip = missing.length > 0 ? `needs ${missing.join(', ')}` : undefined;

describe('truncated raw images', { skip }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-truncated-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => path.join(dir, name);
  const sh = (command: string) => execSync(command, { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'], shell: '/bin/bash' });
  const cut = (name: string, size: number) => {
    // Sparse: the larger filesystems below are mostly holes.
    sh(`cp --sparse=always ${name} cut-${name} && truncate -s ${size} cut-${name}`);
    return file(`cut-${name}`);
  };

  async function opens(filePath: string): Promise<void> {
    const reader = await openSource({ kind: 'file', path: filePath });
    await reader.close();
  }
  async function truncated(filePath: string, message: RegExp): Promise<void> {
    await assert.rejects(opens(filePath), (error: unknown) => {
      assert.ok(error instanceof BlockwiseError, String(error));
      assert.equal(error.code, 'SOURCE_TRUNCATED');
      assert.match(error.message, message);
      assert.equal(error.details.path, filePath);
      return true;
    });
  }

  test('a bare ext4 or FAT filesystem cut short', async () => {
    sh('truncate -s 16M ext4.img && mkfs.ext4 -q ext4.img && truncate -s 16M fat.img && mkfs.vfat fat.img');
    await opens(file('ext4.img'));
    await opens(file('fat.img'));
    await truncated(cut('ext4.img', 10 * MiB), /ends at byte 10485760, but its ext4 filesystem needs it to reach byte 16777216/);
    await truncated(cut('fat.img', 10 * MiB), /but its FAT16 filesystem needs it to reach byte 16777216/);
  });

  test('GPT and MBR disks (FAT boot + ext4 root) cut inside the root, or before it starts', async () => {
    sh('truncate -s 8M p1 && mkfs.vfat p1 && truncate -s 20M p2 && mkfs.ext4 -q p2');
    sh('truncate -s 32M gpt.img && sgdisk -n1:2048:+8M -t1:ef00 -n2:0:0 -t2:8300 gpt.img');
    sh('truncate -s 32M mbr.img && printf "2048,16384,c\\n18432,,83\\n" | sfdisk -q mbr.img');
    for (const disk of ['gpt.img', 'mbr.img']) {
      sh(`dd if=p1 of=${disk} bs=512 seek=2048 conv=notrunc status=none && dd if=p2 of=${disk} bs=512 seek=18432 conv=notrunc status=none`);
      await opens(file(disk));
      await truncated(cut(disk, 10 * MiB), /the ext4 filesystem of partition 2 \(from byte 9437184\) needs it to reach byte 30408704/);
      await truncated(cut(disk, 2 * MiB), /the FAT12 filesystem of partition 1 \(from byte 1048576\) needs it to reach byte 9437184/);
    }
    await truncated(cut('mbr.img', 9 * MiB), /ends at byte 9437184, before its partition 2 \(from byte 9437184\) even starts/);
  });

  test('a partition larger than the file around a smaller filesystem is not truncation', async () => {
    sh('truncate -s 32M shrunk.img && printf "2048,,83\\n" | sfdisk -q shrunk.img && truncate -s 20M small && mkfs.ext4 -q small 10M');
    sh('dd if=small of=shrunk.img bs=512 seek=2048 conv=notrunc status=none');
    truncateSync(file('shrunk.img'), MiB + 10 * MiB);
    await opens(file('shrunk.img'));
  });

  const rootTools = ['mkfs.btrfs', 'mkfs.xfs', 'mksquashfs'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  test('a cut btrfs, XFS or squashfs root (Fedora, Home Assistant OS) is refused too', { skip: rootTools.length > 0 ? `needs ${rootTools.join(', ')}` : undefined }, async () => {
    // Bare filesystems (sparse files: btrfs needs 114 MiB, XFS 300 MiB at least).
    sh('truncate -s 120M btrfs.img && mkfs.btrfs -q btrfs.img && truncate -s 320M xfs.img && mkfs.xfs -q xfs.img');
    await opens(file('btrfs.img'));
    await opens(file('xfs.img'));
    await truncated(cut('btrfs.img', 100 * MiB), /ends at byte 104857600, but its btrfs filesystem needs it to reach byte 125829120/);
    await truncated(cut('xfs.img', 200 * MiB), /ends at byte 209715200, but its XFS filesystem needs it to reach byte 335544320/);
    // squashfs as a GPT disk's second partition, as Home Assistant OS keeps its system.
    sh('mkdir -p sq && head -c 3M /dev/urandom > sq/blob && mksquashfs sq sq.img -quiet -noappend -no-progress');
    sh('truncate -s 16M sq-disk.img && sgdisk -n1:2048:+1M -n2:0:0 sq-disk.img && dd if=sq.img of=sq-disk.img bs=512 seek=4096 conv=notrunc status=none');
    await opens(file('sq-disk.img'));
    await truncated(cut('sq-disk.img', 3 * MiB), /but the squashfs filesystem of partition 2 \(from byte 2097152\) needs it to reach byte \d+/);
  });

  const isoTool = ['xorriso', 'genisoimage'].find((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
  test('a cut ISO (its volume larger than the file) is refused; one with a partition appended is not', { skip: isoTool ? undefined : 'needs xorriso or genisoimage' }, async () => {
    sh(`mkdir -p iso && head -c 3M /dev/urandom > iso/blob && ${isoTool === 'xorriso' ? 'xorriso -as mkisofs -quiet' : 'genisoimage -quiet'} -o os.iso iso`);
    await opens(file('os.iso'));
    const isoSize = Number(execSync('stat -c %s os.iso', { cwd: dir, encoding: 'utf8' }));
    await truncated(cut('os.iso', 2 * MiB), new RegExp(`ends at byte 2097152, but its ISO 9660 filesystem needs it to reach byte ${isoSize}:`));
    // A Debian-style hybrid carries its EFI partition after the ISO volume.
    sh('cat os.iso iso/blob > appended.iso');
    await opens(file('appended.iso'));
    if (isoTool !== 'xorriso') return;
    // As xorriso makes them (Debian, Ubuntu): the EFI partition in the partition table, cut inside it.
    sh('truncate -s 4M efi.img && mkfs.vfat efi.img && xorriso -as mkisofs -quiet -o hybrid.iso -append_partition 2 0xef efi.img iso');
    await opens(file('hybrid.iso'));
    const hybridSize = Number(execSync('stat -c %s hybrid.iso', { cwd: dir, encoding: 'utf8' }));
    await truncated(cut('hybrid.iso', hybridSize - MiB), /but the FAT\d+ filesystem of partition 2 \(from byte \d+\) needs it to reach byte \d+: the image is incomplete/);
  });

  test('a compressed image that ends cleanly but short (a member, frame or stream boundary) fails at its end', async () => {
    sh('truncate -s 8M p1 && mkfs.vfat p1 && truncate -s 20M p2 && mkfs.ext4 -q p2');
    sh('truncate -s 32M whole.img && printf "2048,16384,c\\n18432,,83\\n" | sfdisk -q whole.img');
    sh('dd if=p1 of=whole.img bs=512 seek=2048 conv=notrunc status=none && dd if=p2 of=whole.img bs=512 seek=18432 conv=notrunc status=none');
    // What a multi-member .gz, multi-frame .zst, multi-stream .xz or pbzip2's .bz2 decodes to when
    // cut after one of its parts: a smaller image, with no error from the decoder.
    sh('head -c 10M whole.img > first-part && gzip -c first-part > short.img.gz && xz -c first-part > short.img.xz && bzip2 -c first-part > short.img.bz2');
    sh('gzip -c whole.img > whole.img.gz');
    const readAll = async (filePath: string): Promise<number> => {
      const reader = await openSource({ kind: 'file', path: filePath });
      try {
        let total = 0;
        for (const buffer = Buffer.alloc(MiB); ; ) {
          const n = await reader.read(buffer);
          total += n;
          if (n < buffer.length) return total;
        }
      } finally {
        await reader.close();
      }
    };
    assert.equal(await readAll(file('whole.img.gz')), 32 * MiB);
    for (const name of ['short.img.gz', 'short.img.xz', 'short.img.bz2']) {
      await assert.rejects(readAll(file(name)), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError, String(error));
        assert.equal(error.code, 'SOURCE_TRUNCATED', error.message);
        assert.match(error.message, new RegExp(`^The image in ${name.replace(/\./g, '\\.')} ends at byte 10485760, but the ext4 filesystem of partition 2 \\(from byte 9437184\\) needs it to reach byte 30408704`));
        return true;
      });
    }
  });
});
