// The SHA-256s shown at the end of a flash: a background hash that fails once the drives are written
// and checked leaves its line out with the reason, instead of failing the flash and calling the
// drives incomplete.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { planHashes, shownDigests } from './flash-hashes';
import type { SourceReader } from './sources/source';

let dir = '';
const data = randomBytes(3 * 1024 * 1024 + 7);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'blockwise-flash-hashes-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A raw image file as the sources describe it; only what planHashes reads. */
function rawSource(file: string, size: number): SourceReader {
  return { info: { name: path.basename(file), formats: ['raw'], size }, backingFile: { path: file, offset: 0 } } as unknown as SourceReader;
}

/** A compressed file: the stored file is hashed, the image inside is not. */
function storedSource(file: string, size: number): SourceReader {
  return { info: { name: path.basename(file), formats: ['xz'], size: size * 2 }, storedFile: { path: file, size } } as unknown as SourceReader;
}

test("a raw image file's SHA-256 is shown after the flash", async () => {
  const file = path.join(dir, 'good.img');
  writeFileSync(file, data);
  const hashes = planHashes(rawSource(file, data.length), undefined, true);
  assert.equal(hashes.inPipeline, false, 'a dense raw write is hashed in the background');
  hashes.start();
  assert.deepEqual(await shownDigests(hashes, undefined), { imageSha256: sha(data) });
  await hashes.close();
});

test('an image file that shrank after the write: no SHA-256, the reason instead, and nothing thrown', async () => {
  const file = path.join(dir, 'shrank.img');
  writeFileSync(file, data);
  truncateSync(file, 1024 * 1024);
  const hashes = planHashes(rawSource(file, data.length), undefined, true);
  const shown = await shownDigests(hashes, undefined);
  await hashes.close();
  assert.equal(shown.imageSha256, undefined);
  assert.match(shown.sha256Unavailable ?? '', /^Could not read .*shrank\.img to compute its SHA-256 \(.+\)\.$/);
});

test('a compressed file that vanished: the stored SHA-256 is left out with the reason; a digest the write took still shows', async () => {
  const file = path.join(dir, 'gone.img.xz');
  const hashes = planHashes(storedSource(file, data.length), undefined, true);
  const shown = await shownDigests(hashes, 'ab'.repeat(32));
  await hashes.close();
  assert.equal(shown.imageSha256, 'ab'.repeat(32));
  assert.equal(shown.fileSha256, undefined);
  assert.match(shown.sha256Unavailable ?? '', /gone\.img\.xz to compute its SHA-256/);
});
