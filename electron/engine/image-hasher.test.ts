// The background file hash: the right SHA-256 of a file range, a paused thread that resumes when
// the digest is asked for, a closed one that leaves no thread behind, and a file that shrank.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { hashFileInBackground } from './image-hasher';

let dir = '';
let file = '';
const data = randomBytes(5 * 1024 * 1024 + 123);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'blockwise-hasher-'));
  file = path.join(dir, 'image.img');
  writeFileSync(file, data);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('hashes a range of the file, also after being paused', async () => {
  const whole = hashFileInBackground(file, 0, data.length)!;
  assert.equal(await whole.digest(), sha(data));
  await whole.close();
  const paused = hashFileInBackground(file, 1000, 3 * 1024 * 1024)!;
  paused.pause();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(await paused.digest(), sha(data.subarray(1000, 1000 + 3 * 1024 * 1024)), 'asking for the digest resumes it');
  await paused.close();
});

test('a paused hasher can be closed, and a file shorter than the range is an error naming the byte', async () => {
  const held = hashFileInBackground(file, 0, data.length)!;
  held.pause();
  await held.close();
  const short = path.join(dir, 'short.img');
  writeFileSync(short, data);
  truncateSync(short, 2 * 1024 * 1024);
  const hash = hashFileInBackground(short, 0, data.length)!;
  await assert.rejects(hash.digest(), (error: Error & { offset?: number }) => /ended at byte 2097152/.test(error.message) && error.offset === 2 * 1024 * 1024);
  await hash.close();
});
