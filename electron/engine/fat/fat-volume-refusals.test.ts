// What the FAT code refuses, and says why: boot sectors it cannot use, damaged chains, names FAT
// cannot hold. Each case is made from a real mkfs.vfat image with a few bytes changed.

import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { FatTable } from './fat-table';
import { fatToolsSkipReason, fsck, makeFatImage, mcopyIn, scratchDir, withVolume } from './fat-test-images';
import { RootDirectory } from './root-directory';
import { fileDescriptorIO } from './sector-io';

const skip = fatToolsSkipReason();

function assertClean(image: string): void {
  const { status, complaints } = fsck(image);
  assert.deepEqual(complaints, [], `fsck.vfat -n complained about ${image}`);
  assert.equal(status, 0);
}

describe('what is not a usable FAT volume', { skip }, () => {
  let scratch: ReturnType<typeof scratchDir>;
  before(() => (scratch = scratchDir()));
  after(() => scratch.dispose());

  test('no boot signature, odd sector sizes and FAT counts are refused by name', async () => {
    const image = makeFatImage(scratch.dir, 'bad.img', 16, 20480);
    const poke = (at: number, bytes: number[]) => {
      const fd = openSync(image, 'r+');
      try {
        writeSync(fd, Buffer.from(bytes), 0, bytes.length, at);
      } finally {
        closeSync(fd);
      }
    };
    poke(16, [3]);
    await assert.rejects(withVolume(image, async () => undefined), /3 FATs \(expected 1 or 2\)/);
    poke(16, [2]);
    poke(11, [0x00, 0x03]); // 768 bytes per sector
    await assert.rejects(withVolume(image, async () => undefined), /768 bytes per sector/);
    poke(11, [0x00, 0x02]);
    poke(13, [3]);
    await assert.rejects(withVolume(image, async () => undefined), /3 sectors per cluster/);
    poke(13, [4]);
    poke(510, [0, 0]);
    await assert.rejects(withVolume(image, async () => undefined), /lacks the 0x55AA signature/);
    await assert.rejects(withVolume(image, async () => undefined, 100), /multiple of 512/);
  });

  test('a boot sector laid out as FAT32 whose cluster count says FAT16 is refused as ambiguous', async () => {
    // 40 MiB of 4 KiB clusters is 10,000-odd clusters: FAT16 by count, though mkfs was asked for FAT32.
    const image = makeFatImage(scratch.dir, 'ambiguous.img', 32, 40960, ['-S', '4096', '-s', '1']);
    await assert.rejects(withVolume(image, async () => undefined), /Ambiguous FAT filesystem: its boot sector is laid out as FAT32, but its \d+ clusters make it FAT16/);
  });

  test('short chains, links past the end and long names whose checksum does not match are caught', async () => {
    const image = makeFatImage(scratch.dir, 'damaged.img', 16, 20480, ['-s', '1']);
    mcopyIn(image, 'short.bin', Buffer.alloc(5000, 1));
    mcopyIn(image, 'past.bin', Buffer.alloc(5000, 2));
    await withVolume(image, async (volume) => {
      await volume.writeFile('user-data', Buffer.from('#cloud-config\n'));
      const fd = openSync(image, 'r+');
      try {
        const io = fileDescriptorIO(fd);
        const fat = new FatTable(io, 0, volume.layout);
        const root = await RootDirectory.load(io, 0, volume.layout, fat);
        const [short, past, userData] = root.records();
        assert.ok(short && past && userData);
        await fat.set(short.firstCluster, 0xffff); // ends after one cluster of ten
        await fat.set(past.firstCluster, volume.layout.clusterCount + 100);
        await fat.flush();
        // Change the short name under the long one: its checksum no longer matches.
        const entry = Buffer.from(root.slot(userData.shortSlot));
        entry[7] = '9'.charCodeAt(0);
        root.setSlot(userData.shortSlot, entry);
        await root.flush();
      } finally {
        closeSync(fd);
      }
      await assert.rejects(volume.readFile('short.bin'), /"short.bin" has 5000 bytes but its FAT chain has only 1 clusters \(10 needed\)/);
      await assert.rejects(volume.readFile('past.bin'), /FAT chain of "past.bin" is broken: cluster \d+ links to cluster \d+, outside the volume/);
      assert.deepEqual((await volume.list()).map((e) => e.name), ['short.bin', 'past.bin', 'USER-D~9']);
      await assert.rejects(volume.readFile('user-data'), /No file named "user-data"/);
    });
  });

  test('names FAT cannot hold are refused before anything is written', async () => {
    const image = makeFatImage(scratch.dir, 'names.img', 12, 1024);
    await withVolume(image, async (volume) => {
      await assert.rejects(volume.writeFile('a/b', Buffer.alloc(1)), /contains "\/"/);
      await assert.rejects(volume.writeFile('trailing.', Buffer.alloc(1)), /ends with a dot or a space/);
      await assert.rejects(volume.writeFile('', Buffer.alloc(1)), /cannot be empty/);
      await assert.rejects(volume.writeFile('x'.repeat(256), Buffer.alloc(1)), /FAT allows 255/);
      assert.deepEqual(await volume.list(), []);
    });
    assertClean(image);
  });
});
