// Finding published SHA-256 checksums beside an image: per-file .sha256/.sha256sum, folder-wide
// SHA256SUMS / sha256sums.txt (GNU and BSD lines), which bytes each describes, and broken files.

import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import { findPublishedChecksum, isSha256Hex, parseChecksumLines } from './checksum-files';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'C'.repeat(64);

describe('published checksum files', () => {
  let root = '';
  let n = 0;
  /** A fresh folder holding `files`; returns the path of `image` inside it. */
  const folder = (image: string, files: Record<string, string | Buffer>): string => {
    const dir = path.join(root, String(n++));
    mkdirSync(dir);
    writeFileSync(path.join(dir, image), 'image bytes');
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return path.join(dir, image);
  };
  before(() => {
    root = mkdtempSync('/dev/shm/blockwise-checksum-files-');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('parses GNU text and binary lines, BSD lines, and skips the rest', () => {
    const entries = parseChecksumLines(`-----BEGIN PGP SIGNED MESSAGE-----\n${A}  one.img\n${B} *two.img.xz\nSHA256 (three.iso) = ${C}\n# comment\nnot a line\n`);
    assert.deepEqual(entries, [
      { hex: A, name: 'one.img' },
      { hex: B, name: 'two.img.xz' },
      { hex: C.toLowerCase(), name: 'three.iso' },
    ]);
    assert.ok(isSha256Hex(` ${A} `));
    assert.ok(!isSha256Hex('abc'));
  });

  test('IMAGE.sha256 with a named line describes that file; a bare hash, the file or the image inside', async () => {
    const bare = await findPublishedChecksum(folder('x.img', { 'x.img.sha256': `${A}\n` }));
    assert.deepEqual(bare?.spec, { algorithm: 'sha256', hex: A, of: 'auto' });
    assert.equal(path.basename(bare!.file), 'x.img.sha256');
    // Publishers put the decompressed image's hash in disk.img.xz.sha256 too: either may match.
    const compressed = await findPublishedChecksum(folder('x.img.xz', { 'x.img.xz.sha256': `${A}\n` }));
    assert.deepEqual(compressed?.spec, { algorithm: 'sha256', hex: A, of: 'auto' });
    const named = await findPublishedChecksum(folder('x.img.xz', { 'x.img.xz.sha256sum': `${B}  x.img.xz\n` }));
    assert.deepEqual(named?.spec, { algorithm: 'sha256', hex: B, of: 'file' });
  });

  test('a checksum file saved as UTF-16 (Windows PowerShell: Get-FileHash … > x.sha256) is read, not "holds no SHA-256"', async () => {
    const utf16 = (text: string, bigEndian = false): Buffer => {
      const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      return bigEndian ? Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(le.subarray(2)).swap16()]) : le;
    };
    const bare = await findPublishedChecksum(folder('x.img.xz', { 'x.img.xz.sha256': utf16(`${A.toUpperCase()}\r\n`) }));
    assert.deepEqual(bare?.spec, { algorithm: 'sha256', hex: A.toLowerCase(), of: 'auto' });
    const listed = await findPublishedChecksum(folder('x.img.xz', { SHA256SUMS: utf16(`${B}  x.img.xz\r\n`, true) }));
    assert.deepEqual(listed?.spec, { algorithm: 'sha256', hex: B, of: 'file' });
  });

  test("release lists named as Fedora and FreeBSD name them, and Armbian's IMAGE.sha, are found; a SHA-1 in a .sha is no SHA-256 and no error", async () => {
    const fedora = await findPublishedChecksum(
      folder('Fedora-Minimal-41-1.4.aarch64.raw.xz', {
        'Fedora-Spins-41-1.4-aarch64-CHECKSUM': `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n# Fedora-Minimal-41-1.4.aarch64.raw.xz: 1 bytes\nSHA256 (Fedora-Minimal-41-1.4.aarch64.raw.xz) = ${A}\n`,
      }),
    );
    assert.deepEqual(fedora?.spec, { algorithm: 'sha256', hex: A, of: 'file' });
    assert.equal(path.basename(fedora!.file), 'Fedora-Spins-41-1.4-aarch64-CHECKSUM');
    const freebsd = await findPublishedChecksum(folder('FreeBSD-14.1-RELEASE-arm64-aarch64-RPI.img.xz', { 'CHECKSUM.SHA256-FreeBSD-14.1-RELEASE-arm64-aarch64-RPI': `SHA256 (FreeBSD-14.1-RELEASE-arm64-aarch64-RPI.img.xz) = ${B}\n` }));
    assert.equal(freebsd?.spec.hex, B);
    const armbian = await findPublishedChecksum(folder('Armbian_24.11.1_Rpi4b_bookworm.img.xz', { 'Armbian_24.11.1_Rpi4b_bookworm.img.xz.sha': `${C}  Armbian_24.11.1_Rpi4b_bookworm.img.xz\n` }));
    assert.equal(armbian?.spec.hex, C.toLowerCase());
    assert.equal(await findPublishedChecksum(folder('x.img.xz', { 'x.img.xz.sha': `${'a'.repeat(40)}  x.img.xz\n` })), undefined);
  });

  test('a checksum of the uncompressed name describes the image inside', async () => {
    const beside = await findPublishedChecksum(folder('x.img.gz', { 'x.img.sha256': `${A}  x.img\n` }));
    assert.deepEqual(beside?.spec, { algorithm: 'sha256', hex: A, of: 'image' });
    const listed = await findPublishedChecksum(folder('x.img.zst', { SHA256SUMS: `${B}  other.img\n${C}  ./x.img\n` }));
    assert.deepEqual(listed?.spec, { algorithm: 'sha256', hex: C.toLowerCase(), of: 'image' });
  });

  test('SHA256SUMS / sha256sums.txt in the folder, by name; none when the image is not listed', async () => {
    const sums = await findPublishedChecksum(folder('x.img.xz', { 'sha256sums.txt': `${A}  x.img\n${B}  x.img.xz\n` }));
    assert.deepEqual(sums?.spec, { algorithm: 'sha256', hex: B, of: 'file' }, 'the exact file name wins');
    assert.equal(await findPublishedChecksum(folder('y.img', { SHA256SUMS: `${A}  other.img\n` })), undefined);
    assert.equal(await findPublishedChecksum(folder('z.img', {})), undefined);
  });

  test('SHA256SUMS naming the file in subfolders: the line for this folder wins; disagreeing subfolders give none', async () => {
    const own = await findPublishedChecksum(folder('x.img.xz', { SHA256SUMS: `${A}  arm64/x.img.xz\n${B}  x.img.xz\n` }));
    assert.equal(own?.spec.hex, B, 'the line without a folder is this file');
    const one = await findPublishedChecksum(folder('x.img.xz', { SHA256SUMS: `${A}  images/x.img.xz\n` }));
    assert.equal(one?.spec.hex, A, 'a single line in a subfolder is taken (lists made before uploading flat)');
    const two = await findPublishedChecksum(folder('x.img.xz', { SHA256SUMS: `${A}  arm64/x.img.xz\n${B}  amd64/x.img.xz\n` }));
    assert.equal(two, undefined, 'which of two different files is this one cannot be told');
  });

  test('an IMAGE.sha256 holding no hash for the image is an error, not "no checksum"', async () => {
    for (const text of ['not a hash\n', `${A}  other.img\n${B}  another.img\n`]) {
      await assert.rejects(findPublishedChecksum(folder('x.img', { 'x.img.sha256': text })), (error: unknown) => {
        return error instanceof BlockwiseError && error.code === 'CHECKSUM_FILE_INVALID' && /holds no SHA-256 for x\.img/.test(error.message);
      });
    }
  });
});
