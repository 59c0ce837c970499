// Many writes, rewrites, renames by case and deletes in a seeded random order, checked against a
// plain model after every batch with mtools (names and bytes) and fsck.vfat (no complaints).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fatToolsSkipReason, fsck, makeFatImage, mdirNames, mtype, scratchDir, withVolume } from './fat-test-images';

/** xorshift32: the same sequence on every run, so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const NAMES = ['ssh', 'userconf.txt', 'user-data', 'meta-data', 'network-config', 'firstrun.sh', 'config.txt', 'cmdline.txt', 'wpa_supplicant.conf', 'A rather long file name for testing.txt', 'KERNEL.IMG', 'x', 'y.z'];
const SPELLINGS = (name: string) => [name, name.toUpperCase(), name.charAt(0).toUpperCase() + name.slice(1)];

describe('random sequences of edits', { skip: fatToolsSkipReason() }, () => {
  let scratch: ReturnType<typeof scratchDir>;
  before(() => (scratch = scratchDir()));
  after(() => scratch.dispose());

  for (const { bits, kib, extra, seed } of [
    { bits: 12 as const, kib: 1440, extra: [], seed: 12 },
    { bits: 16 as const, kib: 20480, extra: ['-S', '4096', '-s', '1'], seed: 16 },
    { bits: 32 as const, kib: 40960, extra: ['-s', '1'], seed: 32 },
  ]) {
    test(`FAT${bits}: the volume always matches the model`, async () => {
      const image = makeFatImage(scratch.dir, `random${bits}.img`, bits, kib, extra);
      const next = random(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
      // Key: the name in capitals (FAT compares that way); value: the spelling last written, and the bytes.
      const model = new Map<string, { name: string; content: Buffer }>();
      for (let batch = 0; batch < 6; batch++) {
        await withVolume(image, async (volume) => {
          for (let step = 0; step < 25; step++) {
            const name = pick(SPELLINGS(pick(NAMES)));
            const key = name.toUpperCase();
            if (next() < 0.25) {
              if (model.has(key)) {
                await volume.deleteFile(name);
                model.delete(key);
              } else {
                await assert.rejects(volume.deleteFile(name), /No file named/);
              }
              continue;
            }
            const size = pick([0, 1, 511, 512, 513, 2048, 4097, 30_000, 70_000]);
            const content = Buffer.alloc(size);
            for (let i = 0; i < size; i++) content[i] = Math.floor(next() * 256);
            await volume.writeFile(name, content);
            model.set(key, { name, content });
          }
          const listed = (await volume.list()).map((e) => e.name).sort();
          assert.deepEqual(listed, [...model.values()].map((m) => m.name).sort());
        });
        assert.deepEqual(fsck(image).complaints, [], `fsck after batch ${batch}`);
        assert.deepEqual(mdirNames(image).sort(), [...model.values()].map((m) => m.name).sort());
        for (const { name, content } of model.values()) assert.ok(mtype(image, name).equals(content), `${name} after batch ${batch}`);
      }
    });
  }
});
