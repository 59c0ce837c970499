// A .img.gz of several members (`cat a.gz b.gz`, a split image joined again): the trailer at the
// end holds only the last member's size. Taken as the image size, it refused a correct .bmap as
// "belongs to another image" and left the partitions past it unmapped.

import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import type { FlashJob } from '../../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { runFlash } from '../flash';
import './register';
import { inspectImage } from './inspect';

const skip = loopSkipReason();
const MiB = 1024 * 1024;
let dir = '';
let dev: LoopDevice;

const sh = (command: string) => execSync(command, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], shell: '/bin/bash' });
const file = (name: string) => path.join(dir, name);

describe('multi-member gzip', { skip }, () => {
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-gzip-members-test-');
    dev = createLoopDevice(32 * MiB);
    // 16 MiB: an MBR and one ext4 partition holding text (compressible) and some random data.
    sh('mkdir root && seq 1 400000 > root/numbers.txt && head -c 1M /dev/urandom > root/random.bin');
    sh(`truncate -s 16M os.img && printf 'label: dos\\nstart=2048, type=83\\n' | sfdisk -q os.img`);
    sh('truncate -s 15M part.img && mkfs.ext4 -q -F -d root part.img && dd if=part.img of=os.img bs=512 seek=2048 conv=notrunc status=none');
    // Two members of 8 MiB: the trailer says 8 MiB, more than the whole .gz (believable as a size).
    sh('head -c 8M os.img | gzip -c > os.img.gz && tail -c +8388609 os.img | gzip -c >> os.img.gz');
    sh('cp os.img sparse.img && fallocate -d sparse.img && bmaptool create sparse.img > os.img.bmap 2>/dev/null');
    assert.ok(statSync(file('os.img.gz')).size < 8 * MiB, 'the last member alone is larger than the file');
  });
  after(() => {
    dev?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const job = (bmap: boolean): FlashJob => {
    // null: ignore the .bmap beside the image (--no-bmap).
    const options: FlashJob['options'] = { verify: true, full: false, bmapPath: bmap ? file('os.img.bmap') : null };
    return { source: { kind: 'file', path: file('os.img.gz') }, targets: [{ path: dev.path }], options };
  };
  const flash = (j: FlashJob) => runFlash(j, { signal: new AbortController().signal, onProgress: () => {} });

  test('its .bmap is followed, not refused as describing another image', async () => {
    const result = await flash(job(true));
    assert.equal(result.imageSize, 16 * MiB);
    assert.ok(result.targets[0]!.ok && result.targets[0]!.verified);
    assert.ok(readBacking(dev, 0, 16 * MiB).equals(readFileSync(file('os.img'))), 'the device holds the image');
  });

  test('what follows the last member: zero padding is accepted; a damaged member header or junk fails naming the byte, never a short image', async () => {
    const gz = readFileSync(file('os.img.gz'));
    const first = execSync('head -c 8M os.img | gzip -c', { cwd: dir, maxBuffer: 64 * MiB }).length;
    writeFileSync(file('padded.img.gz'), Buffer.concat([gz, Buffer.alloc(4096)]));
    const damaged = Buffer.from(gz);
    damaged[first] = 0; // the second member's 1F 8B: zlib stops there as if at padding
    writeFileSync(file('damaged.img.gz'), damaged);
    writeFileSync(file('gap.img.gz'), Buffer.concat([gz.subarray(0, first), Buffer.alloc(512), gz.subarray(first)]));
    const full = (name: string): FlashJob => ({ source: { kind: 'file', path: file(name) }, targets: [{ path: dev.path }], options: { verify: true, full: true, bmapPath: null } });
    const result = await flash(full('padded.img.gz'));
    assert.equal(result.imageSize, 16 * MiB);
    assert.ok(readBacking(dev, 0, 16 * MiB).equals(readFileSync(file('os.img'))), 'the device holds the image');
    for (const [name, byte] of [
      ['damaged.img.gz', first + 1],
      ['gap.img.gz', first + 512],
    ] as const) {
      await assert.rejects(flash(full(name)), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError, String(error));
        assert.equal(error.code, 'SOURCE_CORRUPT', error.message);
        assert.equal(error.message, `${name}: the gzip member ending at byte ${first} is followed by bytes that are neither another member nor zero padding (the first at byte ${byte}).`);
        assert.equal(error.details.driveIncomplete, true);
        return true;
      });
    }
  });

  test("OpenWrt's fwtool metadata and signature after the gzip data (its x86 images) are not junk; a trailer that does not add up is", async () => {
    /** One fwtool block: its bytes, then magic "FWx0", CRC32, type, padding and the block's whole size, big-endian. */
    const block = (data: Buffer, type: number, size = data.length + 16) => {
      const trailer = Buffer.alloc(16);
      trailer.writeUInt32BE(0x46577830, 0);
      trailer.writeUInt32BE(0xffffffff, 4);
      trailer[8] = type;
      trailer.writeUInt32BE(size, 12);
      return Buffer.concat([data, trailer]);
    };
    // Metadata: an 8-byte header of zeros, then JSON; the signature: usign's text.
    const metadata = block(Buffer.concat([Buffer.alloc(8), Buffer.from('{"metadata_version":"1.1","supported_devices":["generic"]}')]), 1);
    const signature = block(Buffer.from('untrusted comment: signed by key 1234\nRWQ=\n'), 0);
    const gz = readFileSync(file('os.img.gz'));
    writeFileSync(file('openwrt.img.gz'), Buffer.concat([gz, metadata, signature]));
    const bad = block(Buffer.from('untrusted comment: signed by key 1234\nRWQ=\n'), 0, 9999);
    writeFileSync(file('not-openwrt.img.gz'), Buffer.concat([gz, metadata, bad]));
    const full = (name: string): FlashJob => ({ source: { kind: 'file', path: file(name) }, targets: [{ path: dev.path }], options: { verify: true, full: true, bmapPath: null } });
    const result = await flash(full('openwrt.img.gz'));
    assert.equal(result.imageSize, 16 * MiB);
    assert.ok(readBacking(dev, 0, 16 * MiB).equals(readFileSync(file('os.img'))), 'the device holds the image');
    await assert.rejects(flash(full('not-openwrt.img.gz')), (error: unknown) => {
      assert.ok(error instanceof BlockwiseError, String(error));
      assert.equal(error.code, 'SOURCE_CORRUPT', error.message);
      assert.match(error.message, /is followed by bytes that are neither another member nor zero padding/);
      return true;
    });
  });

  test("the partition past the last member's size is mapped like any other (only its used blocks written)", async () => {
    // Shown before the flash as a lower bound: all the trailer can say.
    assert.equal((await inspectImage(file('os.img.gz'))).imageSize, 8 * MiB);
    const before = dev.bytesWritten();
    const result = await flash(job(false));
    assert.equal(result.imageSize, 16 * MiB);
    assert.ok(readBacking(dev, 0, 16 * MiB).equals(readFileSync(file('os.img'))), 'the device holds the image');
    // Used: ~3.6 MiB of files and the ext4 metadata; the partition unmapped would be all 15 MiB.
    assert.ok(dev.bytesWritten() - before < 10 * MiB, `wrote ${dev.bytesWritten() - before} bytes`);
  });

  test('damaged gzip data is placed where zlib failed, not where reading had got to; a failed CRC says the damage lies before it', async () => {
    const gz = readFileSync(file('os.img.gz'));
    const header = Buffer.from(gz);
    header[3] = 0xff; // reserved header flags
    writeFileSync(file('bad-header.img.gz'), header);
    const full = (name: string): FlashJob => ({ source: { kind: 'file', path: file(name) }, targets: [{ path: dev.path }], options: { verify: true, full: true, bmapPath: null } });
    await assert.rejects(flash(full('bad-header.img.gz')), (error: unknown) => {
      assert.ok(error instanceof BlockwiseError, String(error));
      assert.equal(error.code, 'SOURCE_CORRUPT', error.message);
      assert.equal(error.message, 'bad-header.img.gz: its gzip data is damaged at or after byte 0 of the file (unknown header flags set).');
      assert.equal(error.details.offset, 0);
      return true;
    });
  });
});
