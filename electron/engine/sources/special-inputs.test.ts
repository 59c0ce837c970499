// Inputs a person may pick that are not image files at rest: pipes, character devices, an .lzma
// renamed .xz. Each must end in a specific error at once, never a hang or a raw write.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { after, describe, test } from 'node:test';
import { BlockwiseError, describeError } from '../../../shared/errors';
import { detectFormat } from './detect';
import { openSource } from './open-source';
import './register-decoders';

const dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-special-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(filePath: string): Promise<BlockwiseError> {
  try {
    const reader = await openSource({ kind: 'file', path: filePath });
    await reader.close();
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, `expected a BlockwiseError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${filePath} was opened as an image`);
}

const hasXz = spawnSync('xz', ['--version']).status === 0;

describe('sources that are not image files', () => {
  test('a named pipe is refused without waiting for a writer', { timeout: 30_000 }, async () => {
    const fifo = path.join(dir, 'image.img');
    execFileSync('mkfifo', [fifo]);
    const error = await refusal(fifo);
    assert.equal(error.code, 'SOURCE_NOT_IMAGE');
    assert.match(error.message, /named pipe/);
    assert.equal(error.details.path, fifo);
  });

  test('a missing image names the file beside it that was likely meant (os.img typed, os.img.xz there; another case), not a checksum or map', async () => {
    const folder = path.join(dir, 'downloads');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'raspios.img.xz'), 'x');
    writeFileSync(path.join(folder, 'raspios.img.sha256'), 'x');
    writeFileSync(path.join(folder, 'raspios.img.bmap'), 'x');
    const typed = await refusal(path.join(folder, 'raspios.img'));
    assert.equal(typed.code, 'SOURCE_UNREADABLE');
    assert.equal(typed.message, `Cannot open image ${folder}/raspios.img: it does not exist (beside it: ${folder}/raspios.img.xz; did you mean that?).`);
    writeFileSync(path.join(folder, 'Other.IMG'), 'x');
    assert.match((await refusal(path.join(folder, 'other.img'))).message, new RegExp(`\\(beside it: ${folder}/Other\\.IMG; did you mean that\\?\\)\\.$`));
    assert.equal((await refusal(path.join(folder, 'nothing.img'))).message, `Cannot open image ${folder}/nothing.img: it does not exist.`);
  });

  test('a folder is refused as not an image, naming the images inside it', async () => {
    const folder = path.join(dir, 'raspios-extracted');
    mkdirSync(folder);
    const empty = await refusal(folder);
    assert.equal(empty.code, 'SOURCE_NOT_IMAGE');
    assert.equal(empty.message, `${folder} is a folder, not an image file.`);
    writeFileSync(path.join(folder, '2024-raspios.img'), randomBytes(4096));
    writeFileSync(path.join(folder, '._2024-raspios.img'), randomBytes(512));
    writeFileSync(path.join(folder, 'README.txt'), 'hello');
    const one = await refusal(folder);
    assert.equal(one.message, `${folder} is a folder, not an image file; the image in it is probably 2024-raspios.img: pick that file.`);
    assert.equal(one.details.isFolder, true);
    for (const n of [1, 2, 3, 4, 5, 6, 7]) writeFileSync(path.join(folder, `build-${n}.img`), randomBytes(512));
    const many = await refusal(folder);
    assert.equal(many.message, `${folder} is a folder, not an image file; it holds 2024-raspios.img, build-1.img, build-2.img, build-3.img, build-4.img, and 3 more: pick one of these files.`);
  });

  test('a path that cannot lead to a file says why in words: symbolic links in a circle, a file used as a folder', async () => {
    symlinkSync(path.join(dir, 'b.img'), path.join(dir, 'a.img'));
    symlinkSync(path.join(dir, 'a.img'), path.join(dir, 'b.img'));
    const circle = await refusal(path.join(dir, 'a.img'));
    assert.equal(circle.code, 'SOURCE_UNREADABLE');
    assert.equal(circle.message, `Cannot open image ${path.join(dir, 'a.img')}: its symbolic links lead round in a circle.`);
    writeFileSync(path.join(dir, 'plain.img'), randomBytes(4096));
    const notFolder = await refusal(path.join(dir, 'plain.img', 'inside.img'));
    assert.equal(notFolder.code, 'SOURCE_UNREADABLE');
    assert.match(notFolder.message, /a part of its path is a file, not a folder\.$/);
  });

  test('/dev/zero and /dev/urandom are character devices, not empty images', async () => {
    for (const device of ['/dev/zero', '/dev/urandom']) {
      const error = await refusal(device);
      assert.equal(error.code, 'SOURCE_NOT_IMAGE');
      assert.match(error.message, new RegExp(`${device} is a character device`));
    }
  });

  test('an .lzma stream named .xz is refused, not written as raw bytes', { skip: hasXz ? undefined : 'xz is not installed' }, async () => {
    const image = randomBytes(300_000);
    const lzma = execFileSync('xz', ['--format=lzma', '-c'], { input: image });
    const file = path.join(dir, 'os.img.xz');
    writeFileSync(file, lzma);
    const error = await refusal(file);
    assert.equal(error.code, 'SOURCE_UNSUPPORTED');
    assert.match(error.message, /os\.img\.xz is a legacy LZMA \(\.lzma\) stream/);
  });

  test('a file named .xz/.gz/.zip whose bytes are neither that nor a disk image is refused, not written raw', async () => {
    // A download manager's preallocated file of zeros, and one damaged from its first byte.
    const zeros = path.join(dir, 'raspios.img.xz');
    writeFileSync(zeros, Buffer.alloc(300_000));
    const unfinished = await refusal(zeros);
    assert.equal(unfinished.code, 'SOURCE_CORRUPT');
    assert.equal(
      unfinished.message,
      'raspios.img.xz is named as an xz file, but its first 64 KiB are all zeros, as in a download that never finished (if it is in fact an uncompressed disk image, rename it to end in .img).',
    );
    for (const name of ['noise.img.gz', 'noise.zip', 'noise.tar']) {
      writeFileSync(path.join(dir, name), randomBytes(300_000));
      const damaged = await refusal(path.join(dir, name));
      assert.equal(damaged.code, 'SOURCE_CORRUPT', name);
      assert.match(damaged.message, /is named as an? (gzip file|zip archive|tar archive), but its start is neither that nor a disk image/);
    }
    // The same as an archive's entry.
    if (spawnSync('zip', ['-v']).status === 0) {
      execFileSync('zip', ['-q', '-0', 'unfinished.zip', 'raspios.img.xz'], { cwd: dir });
      const entry = await refusal(path.join(dir, 'unfinished.zip'));
      assert.equal(entry.code, 'SOURCE_CORRUPT');
      assert.match(entry.message, /^raspios\.img\.xz inside unfinished\.zip is named as an xz file, .*extract it and rename it to end in \.img\)\.$/);
    }
    // A real image saved decompressed under its .gz name (a browser undoing Content-Encoding) is still written.
    const mbr = randomBytes(300_000);
    mbr.writeUInt16LE(0xaa55, 510);
    writeFileSync(path.join(dir, 'saved.img.gz'), mbr);
    const reader = await openSource({ kind: 'file', path: path.join(dir, 'saved.img.gz') });
    assert.deepEqual(reader.info.formats, ['raw']);
    await reader.close();
  });

  test('an encrypted zip entry says so once, naming the archive once and what to do', { skip: spawnSync('zip', ['-v']).status === 0 ? undefined : 'zip is not installed' }, async () => {
    writeFileSync(path.join(dir, 'secret.img'), randomBytes(200_000));
    execFileSync('zip', ['-q', '-P', 'pw', 'locked.zip', 'secret.img'], { cwd: dir });
    const error = await refusal(path.join(dir, 'locked.zip'));
    assert.equal(error.code, 'SOURCE_UNSUPPORTED');
    assert.match(error.message, /^locked\.zip: the entry secret\.img is encrypted; extract it with unzip/);
    assert.equal(error.message.split('locked.zip').length, 2, error.message);
    assert.doesNotMatch(error.message, /\. \(at/);
  });

  test('an AES-encrypted zip entry (7z -p) is said to be encrypted, with 7-Zip to open it', { skip: spawnSync('7z', ['i']).status === 0 ? undefined : '7z is not installed' }, async () => {
    writeFileSync(path.join(dir, 'aes.img'), randomBytes(200_000));
    execFileSync('7z', ['a', '-tzip', '-mem=AES256', '-ppw', 'aes.zip', 'aes.img'], { cwd: dir, stdio: 'ignore' });
    const error = await refusal(path.join(dir, 'aes.zip'));
    assert.equal(error.code, 'SOURCE_UNSUPPORTED');
    assert.equal(error.message, 'aes.zip: the entry aes.img is encrypted (AES); extract it with 7-Zip (7z x, which asks for the password) and open the image.');
  });

  test('a .torrent is refused as what it is, not written as a tiny image', async () => {
    // Bencoded as transmission-create and mktorrent write it: binary SHA-1 piece hashes inside.
    const pieces = randomBytes(20 * 8);
    const info = Buffer.concat([Buffer.from('d6:lengthi33554432e4:name6:os.img12:piece lengthi4194304e6:pieces160:'), pieces, Buffer.from('e')]);
    const file = path.join(dir, 'os.img.torrent');
    writeFileSync(file, Buffer.concat([Buffer.from('d8:announce30:http://tracker.example/announce4:info'), info, Buffer.from('e')]));
    const error = await refusal(file);
    assert.equal(error.code, 'SOURCE_UNSUPPORTED');
    assert.match(error.message, /^os\.img\.torrent is a BitTorrent file \(\.torrent\).*open it in one, then pick the image it downloads\.$/);
    const bare = Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('e')]); // a magnet's metadata, saved
    writeFileSync(file, bare);
    assert.equal((await refusal(file)).code, 'SOURCE_UNSUPPORTED');
  });

  test('installers downloaded beside an image (.exe, .deb) are refused, not written', async () => {
    const exe = path.join(dir, 'imager-setup.exe');
    // The DOS stub of every PE file ("MZ"), pointing at byte 60 to the "PE\0\0" header.
    const pe = randomBytes(60_000);
    pe.write('MZ', 0, 'latin1');
    pe.writeUInt32LE(128, 60);
    pe.write('PE\0\0', 128, 'latin1');
    writeFileSync(exe, pe);
    assert.match((await refusal(exe)).message, /^imager-setup\.exe is a Windows program \(\.exe\)/);
    const deb = path.join(dir, 'imager.deb');
    // A .deb's first member, as dpkg-deb writes it: the ar magic, a 60-byte header, "2.0\n".
    const member = `${'debian-binary'.padEnd(16)}${'1700000000'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${'4'.padEnd(10)}\`\n2.0\n`;
    writeFileSync(deb, Buffer.concat([Buffer.from(`!<arch>\n${member}`), randomBytes(50_000)]));
    assert.match((await refusal(deb)).message, /^imager\.deb is a Debian package or ar archive/);
  });

  test('an entry asked of an image that is no archive is refused, not silently ignored', async () => {
    const raw = path.join(dir, 'plain.img');
    writeFileSync(raw, randomBytes(100_000));
    const gz = path.join(dir, 'plain.img.gz');
    writeFileSync(gz, gzipSync(randomBytes(100_000)));
    for (const file of [raw, gz]) {
      await assert.rejects(openSource({ kind: 'file', path: file, entry: 'other.img' }), (error: unknown) => {
        assert.ok(error instanceof BlockwiseError);
        assert.equal(error.code, 'ARCHIVE_ENTRY_NOT_FOUND');
        assert.match(error.message, new RegExp(`${path.basename(file).replace(/\./g, '\\.')} is not an archive, so it has no entry named other\\.img`));
        return true;
      });
    }
  });

  test('zstd after skippable frames is zstd; a dictionary frame is refused by name', () => {
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0x01, 0x00, 0x00]);
    const skippable = (n: number, nibble = 0) => Buffer.concat([Buffer.from([0x50 + nibble, 0x2a, 0x4d, 0x18]), Buffer.from(Uint32Array.of(n).buffer), Buffer.alloc(n, 0xab)]);
    const zstd = { kind: 'supported', format: 'zstd' };
    assert.deepEqual(detectFormat(frame), zstd);
    assert.deepEqual(detectFormat(Buffer.concat([skippable(4), skippable(100, 15), frame])), zstd);
    assert.deepEqual(detectFormat(skippable(1 << 20).subarray(0, 65536)), zstd, 'skippable frame longer than the head');
    assert.deepEqual(detectFormat(Buffer.concat([skippable(4), Buffer.alloc(600)])), zstd, 'what follows is the decoder\'s to judge');
    // Frame header descriptor 0x03: 4-byte dictionary ID, here 0x12345678, after the window byte.
    const withDictionary = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x03, 0x58, 0x78, 0x56, 0x34, 0x12, 0, 0, 0]);
    const detected = detectFormat(Buffer.concat([skippable(4), withDictionary]));
    assert.equal(detected.kind, 'unsupported');
    assert.match(detected.kind === 'unsupported' ? detected.name : '', /dictionary \(ID 305419896\)/);
    // A dictionary ID field of 0 means none.
    assert.deepEqual(detectFormat(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x58, 0x00, 0, 0, 0])), zstd);
  });

  test('other compressors and archives are refused by name, with the command that gets the image out', async () => {
    const image = randomBytes(256 * 1024);
    writeFileSync(path.join(dir, 'os.img'), image);
    // Made by the real tools where this machine has them…
    const made: Array<[string, string[], RegExp]> = [
      ['os.img.lz4', ['lz4', '-q', '-f', 'os.img', 'os.img.lz4'], /is an LZ4 stream, which Blockwise cannot write\. Decompress it \(lz4 -d "os\.img\.lz4"\)/],
      ['os.img.lzma', ['xz', '-q', '-k', '-f', '--format=lzma', 'os.img'], /is a legacy LZMA \(\.lzma\) stream, .*xz -d -k --format=lzma "os\.img\.lzma"/],
      ['os.7z', ['7z', 'a', '-bd', '-y', 'os.7z', 'os.img'], /is a 7-Zip archive, .*7z x "os\.7z"/],
    ];
    for (const [name, command, message] of made) {
      if (spawnSync(command[0]!, command.slice(1), { cwd: dir, stdio: 'ignore' }).status !== 0) {
        console.log(`# ${name}: ${command[0]} is not installed here; its head is tested below only`);
        continue;
      }
      const error = await refusal(path.join(dir, name));
      assert.equal(error.code, 'SOURCE_UNSUPPORTED', error.message);
      assert.match(error.message, message);
    }
    // …and by their first bytes (compress, lzop and RPM are rarely installed).
    const heads: Array<[string, number[], RegExp]> = [
      ['os.img.Z', [0x1f, 0x9d, 0x90], /is a Unix compress \(\.Z\) stream, .*gzip -d -k "os\.img\.Z"/],
      ['os.img.lzo', [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], /is an lzop stream, .*lzop -d "os\.img\.lzo"/],
      ['tool.rpm', [0xed, 0xab, 0xee, 0xdb, 0x03, 0x00], /is an RPM package, which Blockwise cannot write/],
      ['driver.cab', [0x4d, 0x53, 0x43, 0x46, 0, 0, 0, 0], /is a Microsoft Cabinet \(\.cab\) archive/],
      ['os.img.lz4', [0x02, 0x21, 0x4c, 0x18], /is an LZ4 stream \(legacy format\), .*lz4 -d "os\.img\.lz4"/],
      ['system.img', [0xed, 0x26, 0xff, 0x3a, 0x01, 0x00, 0x00, 0x00], /is an Android sparse image, .*simg2img "system\.img" raw\.img/],
      ['installer.run', [...Buffer.from('#!/bin/sh\n# makeself\n')], /is a script or self-extracting installer/],
    ];
    for (const [name, bytes, message] of heads) {
      writeFileSync(path.join(dir, name), Buffer.concat([Buffer.from(bytes), image]));
      const error = await refusal(path.join(dir, name));
      assert.equal(error.code, 'SOURCE_UNSUPPORTED', `${name}: ${error.message}`);
      assert.match(error.message, message);
      // A message that says what to do with this file gets no second, general advice after it;
      // one that cannot (a script, a package) gets it.
      const said = describeError(error.toJSON());
      if (error.details.advised === true) assert.equal(said, error.message, `${name}: ${said}`);
      else assert.match(said, /Blockwise writes raw disk images/, name);
    }
    assert.equal((await refusal(path.join(dir, 'os.img.Z'))).details.advised, true);
    assert.equal((await refusal(path.join(dir, 'tool.rpm'))).details.advised, undefined);
    // zlib (pigz -z): by its two bytes and data that inflates; the same two bytes before random data stay raw.
    writeFileSync(path.join(dir, 'os.img.zz'), deflateSync(image));
    assert.match((await refusal(path.join(dir, 'os.img.zz'))).message, /is a zlib stream \(\.zz\), .*pigz -d -z -k "os\.img\.zz"/);
    for (const flg of [0x01, 0x5e, 0x9c, 0xda]) assert.deepEqual(detectFormat(Buffer.concat([Buffer.from([0x78, flg]), randomBytes(8192)])), { kind: 'supported', format: 'raw' });
    // 1F 9D with a flags byte compress never writes is no .Z: it stays a raw image.
    const notZ = Buffer.alloc(4096);
    notZ.set([0x1f, 0x9d, 0x7f]);
    assert.deepEqual(detectFormat(notZ), { kind: 'supported', format: 'raw' });
  });

  test('filesystem and partition-table heads are still raw images', () => {
    const mbr = Buffer.alloc(4096);
    mbr.set([0xeb, 0x3c, 0x90], 0); // FAT boot sector jump
    assert.deepEqual(detectFormat(mbr), { kind: 'supported', format: 'raw' });
    const zeros = Buffer.alloc(4096); // ext4 and ISO 9660 start with zeros
    assert.deepEqual(detectFormat(zeros), { kind: 'supported', format: 'raw' });
    const lzmaLike = Buffer.alloc(4096);
    lzmaLike.set([0x5d, 0x00, 0x00, 0x80, 0x00], 0); // valid props and dictionary…
    lzmaLike.fill(0x11, 5, 13); // …but an implausible size (not a stream header)
    assert.deepEqual(detectFormat(lzmaLike), { kind: 'supported', format: 'raw' });
  });
});
