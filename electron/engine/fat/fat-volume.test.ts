// Writing, replacing and deleting files in real FAT12/16/32 images made by mkfs.vfat, checked with
// fsck.vfat -n (no complaints) and read back with mtools (names and bytes exactly as written).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { FatTable } from './fat-table';
import type { FatVolume } from './fat-volume';
import { RootDirectory } from './root-directory';
import { fileDescriptorIO } from './sector-io';
import { fatToolsSkipReason, fsck, makeFatImage, mcopyIn, mdirNames, mtype, run, scratchDir, withVolume } from './fat-test-images';

const skip = fatToolsSkipReason();

function assertClean(image: string): void {
  const { status, complaints } = fsck(image);
  assert.deepEqual(complaints, [], `fsck.vfat -n complained about ${image}`);
  assert.equal(status, 0);
}

// Sizes that give each FAT type (FAT32 needs 65,525 clusters: 1 sector per cluster keeps it small,
// and makes a root directory cluster hold only 16 entries, so growing it is tested too).
// 4 KiB logical sectors (as on some drives) change every offset and the I/O sizes.
const VARIANTS = [
  { bits: 12, kib: 2048, extra: [] as string[] },
  { bits: 16, kib: 20480, extra: [] as string[] },
  { bits: 32, kib: 40960, extra: ['-s', '1'] },
  { bits: 16, kib: 40960, extra: ['-S', '4096', '-s', '1'] },
  { bits: 32, kib: 300_000, extra: ['-S', '4096', '-s', '1'] },
] as const;

for (const { bits, kib, extra } of VARIANTS) {
  const sectorSize = (extra as readonly string[]).includes('-S') ? 4096 : 512;
  describe(`FAT${bits} image, ${sectorSize}-byte sectors`, { skip }, () => {
    let scratch: ReturnType<typeof scratchDir>;
    before(() => (scratch = scratchDir()));
    after(() => scratch.dispose());
    const fresh = (name: string) => makeFatImage(scratch.dir, name, bits, kib, [...extra]);

    test('is recognised as its FAT type, and readFile reads what mcopy put in', async () => {
      const image = fresh('read.img');
      const big = randomBytes(70_000);
      mcopyIn(image, 'config.txt', 'dtparam=audio=on\n');
      mcopyIn(image, 'kernel8.img', big);
      mcopyIn(image, 'Mixed Case Long Name.dat', 'long\n');
      await withVolume(image, async (volume) => {
        assert.equal(volume.type, bits);
        assert.equal(volume.layout.bytesPerSector, sectorSize);
        assert.deepEqual(
          (await volume.list()).map((e) => [e.name, e.size]),
          [
            ['config.txt', 17],
            ['kernel8.img', 70_000],
            ['Mixed Case Long Name.dat', 5],
          ],
        );
        assert.equal((await volume.readFile('CONFIG.TXT')).toString(), 'dtparam=audio=on\n');
        assert.deepEqual(await volume.readFile('kernel8.img'), big);
        assert.equal((await volume.readFile('mixed case long name.DAT')).toString(), 'long\n');
        assert.equal((await volume.readFile('MIXEDC~1.DAT')).toString(), 'long\n');
        await assert.rejects(volume.readFile('missing.txt'), /No file named "missing.txt"/);
      });
    });

    test('new files get the names and bytes written, and fsck finds nothing wrong', async () => {
      const image = fresh('write.img');
      mcopyIn(image, 'cmdline.txt', 'console=serial0\n');
      const firstrun = randomBytes(9000);
      const longName = 'A long name, with spaces; and ünïcode — longer than 13 characters.conf';
      const files: Array<[string, Buffer]> = [
        ['ssh', Buffer.alloc(0)],
        ['userconf.txt', Buffer.from('pi:$6$abc$def\n')],
        ['user-data', Buffer.from('#cloud-config\nhostname: pi\n')],
        ['network-config', Buffer.from('version: 2\n')],
        ['firstrun.sh', firstrun],
        [longName, Buffer.from('long\n')],
        ['README.TXT', Buffer.from('plain 8.3\n')],
      ];
      const when = new Date(2026, 11, 5, 21, 30, 44, 500);
      await withVolume(image, async (volume) => {
        for (const [name, content] of files) await volume.writeFile(name, content);
        const listed = await volume.list();
        assert.deepEqual(
          listed.map((e) => e.name),
          ['cmdline.txt', ...files.map(([name]) => name)],
        );
        assert.deepEqual(
          listed.map((e) => e.shortName),
          ['CMDLINE.TXT', 'SSH', 'USERCONF.TXT', 'USER-D~1', 'NETWOR~1', 'FIRSTRUN.SH', 'ALONGN~1.CON', 'README.TXT'],
        );
        assert.deepEqual(listed.find((e) => e.name === 'ssh')?.modified, new Date(2026, 11, 5, 21, 30, 44));
      }, 0, { now: () => when });

      assertClean(image);
      assert.deepEqual(mdirNames(image), ['cmdline.txt', ...files.map(([name]) => name)]);
      for (const [name, content] of files) assert.deepEqual(mtype(image, name), content, name);
      assert.equal(mtype(image, 'cmdline.txt').toString(), 'console=serial0\n');
    });

    test('a name differing only in case replaces the file and takes the new spelling', async () => {
      const image = fresh('case.img');
      mcopyIn(image, 'config.txt', 'old\n');
      mcopyIn(image, 'Other.txt', 'other\n');
      await withVolume(image, async (volume) => {
        await volume.writeFile('Config.TXT', Buffer.from('new content\n'));
        await volume.writeFile('OTHER.TXT', Buffer.from('upper\n'));
        // Each new spelling takes the first free slots that fit it, so the order may change.
        assert.deepEqual((await volume.list()).map((e) => e.name).sort(), ['Config.TXT', 'OTHER.TXT']);
      });
      assertClean(image);
      assert.deepEqual(mdirNames(image).sort(), ['Config.TXT', 'OTHER.TXT']);
      assert.equal(mtype(image, 'config.txt').toString(), 'new content\n');
      assert.equal(mtype(image, 'other.txt').toString(), 'upper\n');
    });

    test('writing to a file by its short name keeps its long name', async () => {
      const image = fresh('short.img');
      mcopyIn(image, 'network-config', 'old\n');
      await withVolume(image, async (volume) => {
        assert.equal((await volume.list())[0]?.shortName, 'NETWOR~1');
        await volume.writeFile('NETWOR~1', Buffer.from('new\n'));
      });
      assertClean(image);
      assert.deepEqual(mdirNames(image), ['network-config']);
      assert.equal(mtype(image, 'network-config').toString(), 'new\n');
    });

    test('replacing with larger then smaller content, and deleting, leave no lost clusters', async () => {
      const image = fresh('replace.img');
      mcopyIn(image, 'firstrun.sh', randomBytes(3000));
      mcopyIn(image, 'keep.bin', randomBytes(5000));
      const larger = randomBytes(150_000);
      const smaller = Buffer.from('#!/bin/sh\nexit 0\n');
      await withVolume(image, async (volume) => {
        await volume.writeFile('firstrun.sh', larger);
        assert.deepEqual(await volume.readFile('firstrun.sh'), larger);
      });
      assertClean(image);
      assert.deepEqual(mtype(image, 'firstrun.sh'), larger);
      await withVolume(image, async (volume) => {
        await volume.writeFile('firstrun.sh', smaller);
        await volume.writeFile('gone.txt', randomBytes(20_000));
        await volume.deleteFile('GONE.TXT');
        await assert.rejects(volume.deleteFile('gone.txt'), /No file named "gone.txt"/);
      });
      assertClean(image);
      assert.deepEqual(mtype(image, 'firstrun.sh'), smaller);
      assert.deepEqual(mdirNames(image), ['firstrun.sh', 'keep.bin']);
    });

    test('a FAT chain that loops is refused, not followed forever', async () => {
      const image = fresh('loop.img');
      mcopyIn(image, 'looped.bin', randomBytes(20_000)); // at least 3 clusters of up to 4 KiB
      await withVolume(image, async (volume) => {
        const entry = (await volume.list())[0];
        assert.ok(entry);
        // Link the file's third cluster back to its first, in every FAT copy.
        const fd = openSync(image, 'r+');
        try {
          const fat = new FatTable(fileDescriptorIO(fd), 0, volume.layout);
          const chain = await fat.chain(await firstCluster(volume, image), 'looped.bin');
          assert.ok(chain.length >= 3);
          await fat.set(chain[2] as number, chain[0] as number);
          await fat.flush();
        } finally {
          closeSync(fd);
        }
        await assert.rejects(volume.readFile('looped.bin'), /FAT chain of "looped.bin" loops: cluster \d+ links back to cluster \d+/);
        await assert.rejects(volume.writeFile('looped.bin', Buffer.from('x')), /loops/);
        await assert.rejects(volume.deleteFile('looped.bin'), /loops/);
      });
    });
  });
}

/** The first cluster of the only file, from its directory entry (found by scanning for its name). */
async function firstCluster(volume: FatVolume, image: string): Promise<number> {
  const fd = openSync(image, 'r');
  try {
    const io = fileDescriptorIO(fd);
    const root = await RootDirectory.load(io, 0, volume.layout, new FatTable(io, 0, volume.layout));
    const record = root.records().find((r) => r.longName === 'looped.bin' || r.shortDisplay === 'looped.bin');
    assert.ok(record);
    return record.firstCluster;
  } finally {
    closeSync(fd);
  }
}

describe('full volumes and directories', { skip }, () => {
  let scratch: ReturnType<typeof scratchDir>;
  before(() => (scratch = scratchDir()));
  after(() => scratch.dispose());

  test('a FAT16 root directory fills up with a clear error, and what fit is intact', async () => {
    const image = makeFatImage(scratch.dir, 'root16.img', 16, 20480, ['-r', '32']);
    let slots = 0;
    await withVolume(image, async (volume) => {
      // mkfs.vfat rounds -r up to whole clusters' worth of sectors.
      slots = volume.layout.rootEntries;
      assert.ok(slots >= 32 && slots <= 128, `${slots} root entries`);
      for (let i = 1; i < slots; i++) await volume.writeFile(`F${i}.TXT`, Buffer.from(`${i}\n`));
      // One slot left: a long name needs two.
      const full = new RegExp(`root directory is full: its ${slots} entries are used \\(FAT16 cannot grow it\\)`);
      await assert.rejects(volume.writeFile('long-name.txt', Buffer.from('x')), full);
      await volume.writeFile('LAST.TXT', Buffer.from('last\n'));
      await assert.rejects(volume.writeFile('MORE.TXT', Buffer.from('x')), full);
      // Replacing still works: it reuses the file's own entry.
      await volume.writeFile('F7.TXT', Buffer.from('seven\n'));
    });
    assertClean(image);
    const names = mdirNames(image);
    assert.equal(names.length, slots);
    assert.equal(names.at(-1), 'LAST.TXT');
    assert.equal(mtype(image, 'LAST.TXT').toString(), 'last\n');
    assert.equal(mtype(image, 'F7.TXT').toString(), 'seven\n');
  });

  test('a volume with a single FAT, and names that differ only by a letter whose capital is two (ß, SS)', async () => {
    const image = makeFatImage(scratch.dir, 'onefat.img', 16, 20480, ['-f', '1']);
    await withVolume(image, async (volume) => {
      assert.equal(volume.layout.fatCount, 1);
      await volume.writeFile('straße.txt', Buffer.from('eszett\n'));
      await volume.writeFile('STRASSE.TXT', Buffer.from('double s\n'));
      await volume.writeFile('Straße.txt', Buffer.from('capital\n'));
      assert.deepEqual((await volume.list()).map((e) => e.name).sort(), ['STRASSE.TXT', 'Straße.txt']);
    });
    assertClean(image);
    assert.equal(mtype(image, 'STRASSE.TXT').toString(), 'double s\n');
    assert.equal(mtype(image, 'Straße.txt').toString(), 'capital\n');
  });

  test('directories are listed but not read, written or deleted; the volume label is no file', async () => {
    const image = makeFatImage(scratch.dir, 'dirs.img', 32, 40960, ['-s', '1', '-n', 'BOOTFS']);
    run('mmd', ['-i', image, '::overlays']);
    await withVolume(image, async (volume) => {
      assert.deepEqual((await volume.list()).map((e) => [e.name, e.isDirectory]), [['overlays', true]]);
      await assert.rejects(volume.readFile('overlays'), /Cannot read "overlays": it is a directory/);
      await assert.rejects(volume.writeFile('OVERLAYS', Buffer.from('x')), /Cannot write "overlays": it is a directory/);
      await assert.rejects(volume.deleteFile('overlays'), /Cannot delete "overlays": it is a directory/);
      // Named like the label: a file of its own, whose short name steps aside from the label's.
      await volume.writeFile('BOOTFS', Buffer.from('not the label\n'));
      assert.deepEqual((await volume.list()).map((e) => [e.name, e.shortName]), [['overlays', 'OVERLAYS'], ['BOOTFS', 'BOOTFS~1']]);
    });
    assertClean(image);
    assert.deepEqual(mdirNames(image), ['overlays/', 'BOOTFS']);
    assert.equal(mtype(image, 'BOOTFS').toString(), 'not the label\n');
    assert.match(run('mlabel', ['-s', '-i', image, '::']), /BOOTFS/);
  });

  test('a FAT32 root directory grows by clusters when its slots run out', async () => {
    const image = makeFatImage(scratch.dir, 'root32.img', 32, 40960, ['-s', '1']);
    const names = Array.from({ length: 40 }, (_, i) => `configuration file number ${i}.txt`);
    await withVolume(image, async (volume) => {
      for (const name of names) await volume.writeFile(name, Buffer.from(name));
    });
    assertClean(image);
    assert.deepEqual(mdirNames(image), names);
    assert.equal(mtype(image, names[39] as string).toString(), names[39]);
  });

  test('replacing a file on a nearly full volume reuses its clusters; a file too large is refused untouched', async () => {
    const image = makeFatImage(scratch.dir, 'full12.img', 12, 1024);
    const old = randomBytes(600_000);
    mcopyIn(image, 'big.bin', old);
    await withVolume(image, async (volume) => {
      await assert.rejects(volume.writeFile('big.bin', randomBytes(2_000_000)), /The volume is full: \d+ free clusters of \d+ bytes are needed, \d+ are left/);
      assert.deepEqual(await volume.readFile('big.bin'), old);
    });
    assertClean(image);
    const bigger = randomBytes(700_000);
    await withVolume(image, (volume) => volume.writeFile('big.bin', bigger));
    assertClean(image);
    assert.deepEqual(mtype(image, 'big.bin'), bigger);
  });
});
