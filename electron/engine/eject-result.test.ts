// "Eject when done" reaches the flash's result: a drive ejected is marked so, and one whose eject
// failed carries why, beside a flash that still succeeded (the lifecycle is a stand-in here: a loop
// device has nothing to eject, and nothing else may be ejected on this machine).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { runFlash } from './flash';
import { registerTargetLifecycle, type TargetFinish } from './target-lifecycle';
import './sources/register';

const dir = mkdtempSync(path.join(tmpdir(), 'blockwise-eject-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('an eject that failed is carried in the drive result, and one that worked is marked ejected; the flash succeeds', async () => {
  const image = path.join(dir, 'os.img');
  writeFileSync(image, randomBytes(256 * 1024));
  const outcomes: Record<string, TargetFinish> = {
    [path.join(dir, 'a.img')]: { ejectError: 'The image was written, but /dev/sdz could not be ejected (busy). Eject it from your desktop before unplugging.' },
    [path.join(dir, 'b.img')]: { ejected: true },
  };
  const asked: boolean[] = [];
  const restore = registerTargetLifecycle({
    prepare: async () => undefined,
    finish: async (spec, options) => {
      asked.push(options.eject);
      return outcomes[spec.path];
    },
  });
  try {
    const result = await runFlash(
      { source: { kind: 'file', path: image }, targets: Object.keys(outcomes).map((p) => ({ path: p, createFile: true })), options: { verify: true, full: true, eject: true } },
      { signal: new AbortController().signal, onProgress: () => undefined },
    );
    assert.deepEqual(asked, [true, true]);
    const [a, b] = result.targets;
    assert.equal(a?.ok, true);
    assert.match(a?.ejectError ?? '', /could not be ejected \(busy\)/);
    assert.equal(a?.ejected, undefined);
    assert.equal(b?.ejected, true);
    assert.equal(b?.ejectError, undefined);
  } finally {
    restore();
  }
});
