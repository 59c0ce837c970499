// Compressed files and archives as other tools make them — pzstd's leading skippable frames, zips
// from macOS Finder — flashed to a real loop device with both decoder families. Each of these was
// once written raw or refused; the device must hold the image, byte for byte.

import assert from 'node:assert/strict';
import { execSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import type { FlashJob } from '../../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { runFlash } from '../flash';
import './register';
import { inspectImage } from './inspect';
import { parseBlockHeader } from './xz-container';

const skip = loopSkipReason();
const MiB = 1024 * 1024;
let dir = '';
let dev: LoopDevice;
/** Half random, half text: every codec has something to do. */
const image = Buffer.concat([randomBytes(2 * MiB), Buffer.from('a line of an image\n'.repeat(110_000))]).subarray(0, 4 * MiB);

const sh = (command: string) => execSync(command, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], shell: '/bin/bash' });
const file = (name: string) => path.join(dir, name);
const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0 || spawnSync(tool, ['-h'], { stdio: 'ignore' }).status === 0;

function job(name: string): FlashJob {
  return { source: { kind: 'file', path: file(name) }, targets: [{ path: dev.path }], options: { verify: true, full: true } };
}

const flash = (j: FlashJob) => runFlash(j, { signal: new AbortController().signal, onProgress: () => {} });

async function flashedExactly(name: string): Promise<void> {
  const result = await flash(job(name));
  assert.equal(result.imageSize, image.length);
  assert.ok(result.targets[0]!.ok && result.targets[0]!.verified);
  assert.ok(readBacking(dev, 0, image.length).equals(image), 'the device holds the image, not the compressed file');
}

if (!skip) {
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-quirks-test-');
    dev = createLoopDevice(8 * MiB, { fill: 'garbage' });
    writeFileSync(file('os.img'), image);
    // pzstd puts a skippable frame (the next frame's size) before every frame, the first one too.
    if (has('pzstd')) sh('pzstd -q -p 2 -c os.img > pzstd.img.zst');
    // The same by hand, for machines without pzstd: a skippable frame, then zstd's own output.
    sh(`{ printf 'P*M\\x18\\x04\\x00\\x00\\x00abcd'; zstd -q -c os.img; } > skippable-first.img.zst`);
    // xz with SHA-256 checks: multi-block (sizes recorded) and one single-threaded block; and the
    // multi-block one with its first block's check damaged.
    sh('xz -T2 --block-size=1MiB --check=sha256 -c os.img > blocks-sha256.img.xz && xz -T1 --check=sha256 -c os.img > single-sha256.img.xz');
    // xz with a filter before LZMA2 (BCJ for executables, delta): one block, and blocks of recorded size.
    sh('xz -T1 --x86 --lzma2 -c os.img > x86-filter.img.xz && xz -T2 --block-size=1MiB --delta=dist=4 --lzma2 -c os.img > delta-blocks.img.xz');
    const xz = readFileSync(file('blocks-sha256.img.xz'));
    const block = parseBlockHeader(xz.subarray(12, 12 + (xz[12]! + 1) * 4));
    const checkAt = 12 + block.headerSize + Math.ceil(block.compressedSize! / 4) * 4;
    xz.writeUInt8(xz.readUInt8(checkAt + 5) ^ 0xff, checkAt + 5);
    writeFileSync(file('bad-sha256.img.xz'), xz);
    // A frame that needs a dictionary the file does not carry (zstd --train, then -D).
    sh('mkdir samples && for i in $(seq 1 40); do head -c $((i * 50000)) os.img | tail -c 20000 > samples/$i; done');
    sh('zstd -q --train samples/* --maxdict=8192 -o dictionary && zstd -q -D dictionary -c os.img > dictionary.img.zst');
    // macOS: Finder's "Compress" adds __MACOSX/._os.img after os.img; its tar puts ._os.img
    // first. Both are AppleDouble files (magic 00 05 16 07) a few KiB long, named like the image.
    mkdirSync(file('__MACOSX'));
    const appleDouble = Buffer.alloc(4096);
    appleDouble.set([0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00], 0);
    appleDouble.write('Mac OS X        ', 8, 'latin1');
    writeFileSync(file('__MACOSX/._os.img'), appleDouble);
    writeFileSync(file('._os.img'), appleDouble);
    sh('zip -q finder.zip os.img __MACOSX/._os.img && tar -cf mac.tar ._os.img os.img && xz -T2 -c mac.tar > mac.tar.xz');
    // Zip methods other than deflate: bzip2 (Info-ZIP's -Z bzip2), LZMA (Python's zipfile, as
    // 7-Zip makes it), and xz (method 95: no tool here writes it, so a stored entry is relabelled).
    sh('zip -q -Z bzip2 bzip2-method.zip os.img');
    sh(`python3 -c "import zipfile; zipfile.ZipFile('lzma-method.zip', 'w', zipfile.ZIP_LZMA).write('os.img')"`);
    // A zip whose os.img was replaced by appending (Python's zipfile in 'a' mode): two entries of that name.
    sh(`python3 -W ignore -c "import zipfile; z = zipfile.ZipFile('appended.zip', 'w'); z.writestr('os.img', b'old' * 100000); z.write('os.img'); z.close()"`);
    sh('xz -c os.img > os.img.xz-data');
    sh(`python3 - <<'PY'
import struct, zipfile, zlib
data = open('os.img', 'rb').read()
with zipfile.ZipFile('xz-method.zip', 'w', zipfile.ZIP_STORED) as z:
    z.writestr('os.img', open('os.img.xz-data', 'rb').read())
b = bytearray(open('xz-method.zip', 'rb').read())
for sig, method_at, crc_at in ((b'PK\\x03\\x04', 8, 14), (b'PK\\x01\\x02', 10, 16)):
    at = b.index(sig)
    struct.pack_into('<H', b, at + method_at, 95)
    struct.pack_into('<I', b, at + crc_at, zlib.crc32(data))
    struct.pack_into('<I', b, at + crc_at + 8, len(data))  # uncompressed size
open('xz-method.zip', 'wb').write(b)
PY`);
  });
  after(() => {
    dev?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
}

for (const family of ['builtin', 'system'] as const) {
  describe(`archives as other tools make them (${family} decoders)`, { skip }, () => {
    before(() => {
      process.env.BLOCKWISE_DECODER = family;
    });
    afterEach(() => {
      process.env.BLOCKWISE_DECODER = family;
    });
    after(() => {
      delete process.env.BLOCKWISE_DECODER;
    });

    test('a .zst made by pzstd (a skippable frame first) is decompressed, not written raw', { skip: has('pzstd') ? undefined : 'pzstd is not installed' }, async () => {
      assert.deepEqual((await inspectImage(file('pzstd.img.zst'))).formats, ['zstd']);
      await flashedExactly('pzstd.img.zst');
    });

    test('a .zst that starts with any skippable frame is zstd', async () => {
      assert.deepEqual((await inspectImage(file('skippable-first.img.zst'))).formats, ['zstd']);
      await flashedExactly('skippable-first.img.zst');
    });

    test('a .zst that needs a dictionary is refused before writing, saying so (not "damaged")', async () => {
      const before = readBacking(dev, 0, 65536);
      await assert.rejects(flash(job('dictionary.img.zst')), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError);
        assert.equal(error.code, 'SOURCE_UNSUPPORTED', error.message);
        assert.match(error.message, /^dictionary\.img\.zst is a zstd file compressed with a dictionary \(ID \d+\).*zstd -d -D DICTIONARY "dictionary\.img\.zst"/);
        return true;
      });
      assert.ok(readBacking(dev, 0, 65536).equals(before), 'nothing was written');
    });

    test('an .xz with SHA-256 checks in blocks of recorded size is decoded and checked', async () => {
      await flashedExactly('blocks-sha256.img.xz');
      const before = readBacking(dev, 0, 65536);
      await assert.rejects(flash(job('bad-sha256.img.xz')), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError);
        assert.equal(error.code, 'SOURCE_CORRUPT', error.message);
        if (family === 'builtin') assert.match(error.message, /fails its SHA-256 check/);
        return true;
      });
      // The xz tool hands a block out before its check; the built-in decoder checks it first.
      if (family === 'builtin') assert.ok(readBacking(dev, 0, 65536).equals(before), 'the first block never reached the drive');
    });

    test('a single-block .xz with SHA-256 checks: written by the xz tool, refused by name (not "damaged") without it', async () => {
      if (family === 'system') return flashedExactly('single-sha256.img.xz');
      const before = readBacking(dev, 0, 65536);
      await assert.rejects(flash(job('single-sha256.img.xz')), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError);
        assert.equal(error.code, 'SOURCE_UNSUPPORTED', error.message);
        assert.match(error.message, /SHA-256 checks .*install xz/);
        return true;
      });
      assert.ok(readBacking(dev, 0, 65536).equals(before), 'nothing was written');
    });

    test('an .xz made with a filter (xz --x86, --delta): written by the xz tool, refused by name (not "damaged") without it', async () => {
      for (const [name, option] of [['x86-filter.img.xz', 'x86'], ['delta-blocks.img.xz', 'delta']] as const) {
        if (family === 'system') {
          await flashedExactly(name);
          continue;
        }
        const before = readBacking(dev, 0, 65536);
        await assert.rejects(flash(job(name)), (error: unknown) => {
          assert.ok(error instanceof BlockwiseError);
          assert.equal(error.code, 'SOURCE_UNSUPPORTED', error.message);
          assert.match(error.message, new RegExp(`made with the ${option} filter \\(xz --${option}\\), which the built-in xz decoder cannot read; install xz`));
          return true;
        });
        assert.ok(readBacking(dev, 0, 65536).equals(before), 'nothing was written');
      }
    });

    test('a zip holding os.img twice writes the last one, as unzip -o and zipfile do, also when named', async () => {
      assert.equal((await inspectImage(file('appended.zip'))).entries, undefined, 'nothing to choose');
      await flashedExactly('appended.zip');
      const named = job('appended.zip');
      named.source = { kind: 'file', path: file('appended.zip'), entry: 'os.img' };
      await flash(named);
      assert.ok(readBacking(dev, 0, image.length).equals(image), 'the device holds the newer os.img');
    });

    test('a zip made by macOS Finder (with __MACOSX/._os.img) writes os.img, not "several images"', async () => {
      const info = await inspectImage(file('finder.zip'));
      assert.equal(info.entry, 'os.img');
      assert.equal(info.entries, undefined, 'nothing to choose');
      await flashedExactly('finder.zip');
    });

    test('zip entries compressed with bzip2 or xz are decoded by the same decoders as .bz2 and .xz files', async () => {
      assert.equal((await inspectImage(file('bzip2-method.zip'))).imageSize, image.length);
      await flashedExactly('bzip2-method.zip');
      await flashedExactly('xz-method.zip');
    });

    test('a zip entry whose deflate data, all of it there, decodes short is damaged (SOURCE_CORRUPT), not "the download was probably incomplete"', async () => {
      sh('zip -q short.zip os.img');
      // Its local header and directory entry claim 4096 bytes more than its deflate data holds.
      const zip = readFileSync(file('short.zip'));
      const central = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      zip.writeUInt32LE(zip.readUInt32LE(22) + 4096, 22);
      zip.writeUInt32LE(zip.readUInt32LE(central + 24) + 4096, central + 24);
      writeFileSync(file('short.zip'), zip);
      await assert.rejects(flash(job('short.zip')), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError);
        assert.equal(error.code, 'SOURCE_CORRUPT', error.message);
        assert.match(error.message, new RegExp(`the entry os\\.img is damaged: its compressed data, all of it there, decodes to ${image.length} bytes, not its ${image.length + 4096}`));
        return true;
      });
    });

    test('a zip entry compressed with LZMA is refused before writing, naming the method and what to do', async () => {
      const before = readBacking(dev, 0, 65536);
      await assert.rejects(flash(job('lzma-method.zip')), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError);
        assert.equal(error.code, 'SOURCE_UNSUPPORTED');
        assert.equal(error.message, 'lzma-method.zip: the entry os.img is compressed with LZMA (zip method 14), which Blockwise cannot decompress; extract it with 7-Zip (7z x) and open the image.');
        return true;
      });
      assert.ok(readBacking(dev, 0, 65536).equals(before), 'nothing was written');
    });

    test('a zip whose comment holds the end-record signature is read; one cut inside its end record is refused as cut, not a bug', async () => {
      sh(`zip -q plain.zip os.img && cp plain.zip comment.zip && printf 'Release notes: PK\\x05\\x06 marker\\n' | zip -q -z comment.zip`);
      await flashedExactly('comment.zip');
      const whole = readFileSync(file('plain.zip'));
      for (const cut of [2, 10, 12, 21, 40]) {
        writeFileSync(file('cut.zip'), whole.subarray(0, whole.length - cut));
        const before = readBacking(dev, 0, 65536);
        await assert.rejects(flash(job('cut.zip')), (error: unknown) => {
          assert.ok(error instanceof BlockwiseError, String(error));
          assert.equal(error.code, 'SOURCE_TRUNCATED', `cut by ${cut}: ${error.message}`);
          assert.match(error.message, /^cut\.zip is a zip archive without its directory at the end: it stops at byte \d+, short of it\.$/);
          return true;
        });
        assert.ok(readBacking(dev, 0, 65536).equals(before), `cut by ${cut}: nothing was written`);
      }
    });

    test('a tar made on macOS (._os.img before os.img) writes os.img, at rest and as a stream', async () => {
      assert.equal((await inspectImage(file('mac.tar'))).entry, 'os.img');
      await flashedExactly('mac.tar');
      await flashedExactly('mac.tar.xz');
    });
  });
}
