// An image file whose own disk fails a read (a dying USB disk, a card reader, a share): a FUSE
// file that returns EIO for one byte. Said as the file's read error at the block that fails, not
// as damaged data ("Download it again") or at the start of a 1–4 MiB read that was fine there.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import { createFaultyDrive, fuseSkipReason, type FaultyDrive } from '../../test-support/fuse-faults';
import { openSource } from './open-source';
import './register-decoders';

const MiB = 1024 * 1024;
/** Random, so that compressed files are as long as the image and the bad byte lies inside them. */
const image = randomBytes(6 * MiB + 333);
const BAD = 3_000_000;
/** The 512-byte block holding the bad byte. */
const BAD_BLOCK = Math.floor(BAD / 512) * 512;

/** Reads the image the file holds to its end, or to the error it ends with. */
async function readAll(file: string): Promise<BlockwiseError> {
  const source = await openSource({ kind: 'file', path: file });
  try {
    const buffer = Buffer.alloc(4 * MiB);
    while ((await source.read(buffer)) > 0);
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, String(error));
    return error;
  } finally {
    await source.close();
  }
  assert.fail('the whole image was read, though a byte of the file cannot be');
}

describe('an image file whose disk fails a read', { skip: fuseSkipReason() }, () => {
  const drives: FaultyDrive[] = [];
  after(() => drives.forEach((d) => d.dispose()));

  /** The stored bytes on a FUSE file whose byte BAD cannot be read. */
  async function failingFile(stored: Buffer): Promise<string> {
    const drive = await createFaultyDrive({ size: stored.length, eioRead: [[BAD, BAD + 1]] });
    drives.push(drive);
    writeFileSync(drive.store, stored);
    return drive.file;
  }

  test('a raw image: SOURCE_UNREADABLE at the block that fails, blaming the disk that holds it, not the image', async () => {
    const file = await failingFile(image);
    const error = await readAll(file);
    assert.equal(error.code, 'SOURCE_UNREADABLE', error.message);
    assert.equal(error.details.offset, BAD_BLOCK);
    assert.match(error.message, new RegExp(`Could not read ${file} at byte ${BAD_BLOCK} \\(EIO.*\\): the disk, card or share that holds it failed to read there`));
  });

  test('a .gz (decoded in-process): the same, not "damaged" with the decoder\'s position', async () => {
    const file = await failingFile(execFileSync('gzip', ['-1', '-c'], { input: image, maxBuffer: 64 * MiB }));
    const error = await readAll(file);
    assert.equal(error.code, 'SOURCE_UNREADABLE', error.message);
    assert.equal(error.details.offset, BAD_BLOCK);
    assert.match(error.message, new RegExp(`Could not read ${file} at byte ${BAD_BLOCK} \\(EIO`));
    assert.doesNotMatch(error.message, /damaged|image bytes decoded/);
  });

  test('a .bz2 (decoded by lbzip2, which reads the file itself): SOURCE_UNREADABLE, not "the compressed data is not valid"', async () => {
    const file = await failingFile(execFileSync('bzip2', ['-1', '-c'], { input: image, maxBuffer: 64 * MiB }));
    const error = await readAll(file);
    assert.equal(error.code, 'SOURCE_UNREADABLE', error.message);
    assert.doesNotMatch(error.message, /not valid|damaged/);
  });

  test('a drive being cloned that fails a read: said to be the drive failing, near the byte that fails, not a file to download again', async () => {
    const drive = await createFaultyDrive({ size: 8 * MiB, eioRead: [[BAD, BAD + 1]] });
    drives.push(drive);
    const error = await readAll(drive.path);
    assert.equal(error.code, 'SOURCE_UNREADABLE', error.message);
    const offset = error.details.offset as number;
    // Read through the page cache, the kernel fails the whole request holding the bad byte (128
    // KiB on this FUSE drive): the byte named is that request's first, not the start of the 4 MiB read.
    assert.ok(offset <= BAD && offset > BAD - 128 * 1024, `named byte ${offset}, not near ${BAD}`);
    assert.match(error.message, new RegExp(`Could not read ${drive.path} at byte ${offset} \\(EIO.*\\): the drive failed to read there, and may be failing\\. Copy it with a tool that goes on past unreadable blocks \\(ddrescue\\)`));
    assert.doesNotMatch(error.message, /download it again/i);
  });
});
