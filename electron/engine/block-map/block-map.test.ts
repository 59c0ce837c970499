// Parsers on small synthetic images: tables built byte by byte around real tiny filesystems
// (mkfs.vfat / mkfs.ext4 on a file), including corrupt and contradictory ones. The rule under test:
// odd input frees nothing it cannot prove free, and never throws.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32 } from './crc32';
import { FilesystemPlanner } from './filesystem-planner';
import { FreeRanges } from './free-ranges';

const KiB = 1024;
const MiB = 1024 * KiB;
let work = '';
let fat12: Buffer = Buffer.alloc(0);
let ext4: Buffer = Buffer.alloc(0);

function tinyFilesystem(kind: 'vfat' | 'ext4', size: number): Buffer {
  const file = path.join(work, `${kind}.img`);
  execFileSync('truncate', ['-s', String(size), file]);
  if (kind === 'vfat') execFileSync('mkfs.vfat', ['-F', '12', file], { stdio: 'ignore' });
  else execFileSync('mkfs.ext4', ['-q', '-F', '-b', '1024', file], { stdio: 'ignore' });
  return readFileSync(file);
}

interface Part {
  type: number;
  start: number; // sectors
  count: number;
  status?: number;
}

function bootRecord(parts: Part[]): Buffer {
  const s = Buffer.alloc(512);
  parts.forEach((p, i) => {
    const e = 446 + 16 * i;
    s[e] = p.status ?? 0;
    s[e + 4] = p.type;
    s.writeUInt32LE(p.start, e + 8);
    s.writeUInt32LE(p.count, e + 12);
  });
  s.writeUInt16LE(0xaa55, 510);
  return s;
}

async function planOf(image: Buffer, size = image.length): Promise<FilesystemPlanner> {
  return FilesystemPlanner.prebuilt(async (into, position) => image.copy(into, 0, position, Math.min(position + into.length, image.length)), size);
}

/** Streams the image in `chunk`-byte pieces and returns what the planner chose to write. */
function streamOf(image: Buffer, chunk: number): { planner: FilesystemPlanner; written: number } {
  const planner = FilesystemPlanner.streaming(image.length);
  let written = 0;
  for (let at = 0; at < image.length; at += chunk) {
    const data = image.subarray(at, Math.min(at + chunk, image.length));
    planner.observe(at, data);
    for (const r of planner.rangesToWrite(at, at + data.length)) written += r.end - r.start;
  }
  planner.finish();
  return { planner, written };
}

function mbrImage(parts: Part[], fill: Array<[number, Buffer]>, size: number): Buffer {
  const image = Buffer.alloc(size);
  bootRecord(parts).copy(image, 0);
  for (const [at, data] of fill) data.copy(image, at);
  return image;
}

describe('block map parsers on synthetic images', () => {
  before(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'blockwise-block-map-'));
    fat12 = tinyFilesystem('vfat', 2 * MiB);
    ext4 = tinyFilesystem('ext4', 4 * MiB);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('FreeRanges merges, complements and forgets', () => {
    const f = new FreeRanges();
    f.add(100, 200);
    f.add(300, 400);
    f.add(200, 250); // touches: merges
    f.add(50, 60);
    assert.deepEqual(f.toArray(), [
      { start: 50, end: 60 },
      { start: 100, end: 250 },
      { start: 300, end: 400 },
    ]);
    assert.deepEqual(f.complement(0, 500), [
      { start: 0, end: 50 },
      { start: 60, end: 100 },
      { start: 250, end: 300 },
      { start: 400, end: 500 },
    ]);
    assert.deepEqual(f.complement(120, 240), []);
    f.add(0, 1000);
    assert.deepEqual(f.toArray(), [{ start: 0, end: 1000 }]);
    f.dropBefore(1000);
    assert.equal(f.size, 0);
  });

  test('crc32 matches the standard check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  test('MBR with FAT12 and ext4: free space inside them only, tables and gaps kept', async () => {
    const parts = [
      { type: 0x01, start: 2048, count: 4096 },
      { type: 0x83, start: 8192, count: 8192 },
    ];
    const image = mbrImage(parts, [[MiB, fat12], [4 * MiB, ext4]], 9 * MiB);
    const planner = await planOf(image);
    assert.deepEqual([...planner.found], ['mbr', 'fat12', 'ext4']);
    const free = planner.rangesToWrite(0, image.length);
    const written = free.reduce((n, r) => n + r.end - r.start, 0);
    // 3 MiB of gaps and tables, plus the metadata of two tiny filesystems.
    assert.ok(written < 5 * MiB, `wrote ${written}`);
    // The table, the gaps and the last MiB (outside every partition) are written.
    assert.deepEqual(free[0], { start: 0, end: free[0]!.end });
    assert.ok(free[0]!.end > MiB, 'the FAT boot sector and FATs must be written');
    assert.deepEqual(free.at(-1), { start: free.at(-1)!.start, end: 9 * MiB });
    assert.ok(free.at(-1)!.start <= 8 * MiB);
    // Streaming in small pieces finds the same map.
    for (const chunk of [4096, 65536, 4 * MiB]) assert.equal(streamOf(image, chunk).written, written, `chunk ${chunk}`);
  });

  test('overlapping partitions: nothing is skipped', async () => {
    const image = mbrImage(
      [
        { type: 0x01, start: 2048, count: 4096 },
        { type: 0x83, start: 4096, count: 8192 },
      ],
      [[MiB, fat12]],
      9 * MiB,
    );
    assert.equal((await planOf(image)).freeBytes, 0);
    assert.equal(streamOf(image, MiB).written, image.length);
  });

  test('a partition covering the MBR, or a bad status byte: nothing is skipped', async () => {
    const cover = mbrImage([{ type: 0x01, start: 0, count: 4096 }], [], 4 * MiB);
    assert.equal((await planOf(cover)).freeBytes, 0);
    const status = mbrImage([{ type: 0x01, start: 2048, count: 4096, status: 0x33 }], [[MiB, fat12]], 4 * MiB);
    assert.equal((await planOf(status)).freeBytes, 0);
  });

  test('a partition past the end of the image is written in full; the others still mapped', async () => {
    const image = mbrImage(
      [
        { type: 0x01, start: 2048, count: 4096 },
        { type: 0x83, start: 8192, count: 1 << 20 },
      ],
      [[MiB, fat12], [4 * MiB, ext4]],
      9 * MiB,
    );
    const planner = await planOf(image);
    assert.deepEqual([...planner.found], ['mbr', 'fat12']);
    const written = planner.rangesToWrite(4 * MiB, 9 * MiB);
    assert.deepEqual(written, [{ start: 4 * MiB, end: 9 * MiB }]);
  });

  test('an EBR chain that loops or leaves its container ends without hanging', async () => {
    const image = Buffer.alloc(8 * MiB);
    bootRecord([{ type: 0x05, start: 2048, count: 8192 }]).copy(image, 0);
    // EBR at 1 MiB: logical FAT at +2048 sectors, next EBR pointing back at itself.
    bootRecord([
      { type: 0x01, start: 2048, count: 4096 },
      { type: 0x05, start: 0, count: 8192 },
    ]).copy(image, MiB);
    fat12.copy(image, 2 * MiB);
    const planner = await planOf(image);
    assert.deepEqual([...planner.found], ['mbr', 'fat12']);
    assert.ok(planner.freeBytes > 0);
    assert.doesNotThrow(() => streamOf(image, 65536));
  });

  test('GPT with a bad header CRC: nothing is skipped', async () => {
    const file = path.join(work, 'gpt.img');
    execFileSync('truncate', ['-s', String(8 * MiB), file]);
    execFileSync('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', file], { input: 'label: gpt\nstart=2048, size=4096, type=U\n', stdio: ['pipe', 'ignore', 'pipe'] });
    const image = readFileSync(file);
    fat12.copy(image, MiB);
    assert.deepEqual([...(await planOf(image)).found], ['gpt', 'fat12']);
    image.writeUInt8(image.readUInt8(512 + 40) ^ 1, 512 + 40); // first usable LBA, covered by the header CRC
    const broken = await planOf(image);
    assert.equal(broken.freeBytes, 0);
    assert.deepEqual([...broken.found], []);
  });

  test('ext4 needing journal recovery, or with an unknown feature: written in full', async () => {
    const image = Buffer.from(ext4);
    assert.ok((await planOf(image)).freeBytes > 0);
    const recover = Buffer.from(ext4);
    recover.writeUInt32LE(recover.readUInt32LE(1024 + 0x60) | 0x4, 1024 + 0x60);
    assert.equal((await planOf(recover)).freeBytes, 0);
    const unknown = Buffer.from(ext4);
    unknown.writeUInt32LE(unknown.readUInt32LE(1024 + 0x64) | 0x200, 1024 + 0x64); // bigalloc
    assert.equal((await planOf(unknown)).freeBytes, 0);
  });

  test('ext4 group whose bitmap claims more free than its descriptor is written in full', async () => {
    const image = Buffer.from(ext4);
    const healthy = (await planOf(image)).freeBytes;
    // Group 0's descriptor (1 KiB blocks: table at block 2) says one block less is free.
    const at = 2048 + 0xc;
    image.writeUInt16LE(image.readUInt16LE(at) - 1, at);
    const planner = await planOf(image);
    assert.ok(planner.freeBytes < healthy, `${planner.freeBytes} vs ${healthy}`);
  });

  test('a hybrid ISO (ISO 9660 descriptor at 32 KiB) is written in full even with a mappable partition', async () => {
    const image = mbrImage([{ type: 0x01, start: 2048, count: 4096 }], [[MiB, fat12]], 4 * MiB);
    assert.ok((await planOf(image)).freeBytes > 0);
    image.write('CD001', 16 * 2048 + 1, 'latin1');
    assert.equal((await planOf(image)).freeBytes, 0);
    assert.equal(streamOf(image, 65536).written, image.length);
  });

  test('garbage and truncated images never throw', async () => {
    let x = 12345;
    for (let round = 0; round < 40; round++) {
      const image = mbrImage([{ type: 0x01, start: 2048, count: 4096 }], [[MiB, fat12], [3 * MiB, ext4]], 8 * MiB);
      for (let i = 0; i < 64; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        const at = x % (3 * MiB + 8192);
        image[at] = x >>> 24;
      }
      const cut = image.subarray(0, (x % 7) * MiB + 512 * (round % 3));
      await planOf(cut);
      streamOf(cut, 65536);
    }
  });
});
