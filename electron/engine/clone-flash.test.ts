// A drive as the image (cloning a card to another): written byte for byte, verified, and its
// SHA-256 taken in step with the write — the source drive is read once, by the writer, not a
// second time by a background hasher competing with it for the device (flash-hashes.ts).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { runFlash } from './flash';
import { openSource } from './sources/open-source';
import './sources/register';

const skip = loopSkipReason();
if (skip) console.log(`# skipping drive-to-drive flash test: ${skip}`);
const devices: LoopDevice[] = [];
after(() => {
  for (const d of devices.splice(0)) d.dispose();
});

test('a loop device as the source: byte-exact copy, verified, SHA-256 of the whole source', { skip }, async () => {
  process.env.BLOCKWISE_INCLUDE_LOOP = '1';
  const size = 12 * 1024 * 1024;
  const source = createLoopDevice(size, { fill: 'garbage' });
  devices.push(source);
  const target = createLoopDevice(size + 4 * 1024 * 1024, { fill: 'garbage' });
  devices.push(target);
  const contents = readFileSync(source.backingFile);
  // A drive offers no file for a second reader to hash: the hash rides with the writer's reads.
  const opened = await openSource({ kind: 'file', path: source.path });
  assert.equal(opened.backingFile, undefined);
  await opened.close();
  const result = await runFlash(
    { source: { kind: 'file', path: source.path }, targets: [{ path: target.path }], options: { verify: true, full: true } },
    { signal: new AbortController().signal, onProgress: () => {} },
  );
  assert.equal(result.targets[0]?.ok, true, JSON.stringify(result.targets[0]?.error));
  assert.equal(result.targets[0]?.verified, true);
  assert.equal(result.imageSize, size);
  assert.equal(result.imageSha256, createHash('sha256').update(contents).digest('hex'));
  assert.ok(readBacking(target, 0, size).equals(contents));
});
