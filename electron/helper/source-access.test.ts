// The helper reads images as root: it must refuse what the person who started it may not read.
// Unit checks of the rules, then the real helper (as root, started through a stand-in pkexec that
// sets PKEXEC_UID=65534 like the real one would for user nobody) against a real loop device.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { BlockwiseError } from '../../shared/errors';
import type { FlashJob } from '../../shared/flash-types';
import { EngineClient } from '../engine/engine-client';
import { createLoopDevice, fillGarbage, loopSkipReason, readBacking } from '../test-support/loop-device';
import { helperTransport } from './helper-transport';
import { invokingUid, permits, userGroups } from './source-access';

const skip = loopSkipReason();
const MiB = 1 << 20;
const NOBODY = 65534;
let dir = '';
let bin = '';

before(() => {
  dir = mkdtempSync('/dev/shm/blockwise-source-access-');
  chmodSync(dir, 0o755);
  bin = path.join(dir, 'bin');
  mkdirSync(bin);
  // What pkexec does once authorised, minus the prompt: run the program as root with PKEXEC_UID.
  writeFileSync(path.join(bin, 'pkexec'), `#!/bin/sh\nPKEXEC_UID=${NOBODY} exec "$@"\n`, { mode: 0o755 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the invoking uid comes from pkexec or sudo before the app\'s own --uid', () => {
  assert.equal(invokingUid({ PKEXEC_UID: '1000', SUDO_UID: '1001' }, 0), 1000);
  assert.equal(invokingUid({ SUDO_UID: '1001' }, 0), 1001);
  assert.equal(invokingUid({ PKEXEC_UID: 'x' }, 1002), 1002);
  assert.equal(invokingUid({}, undefined), undefined);
});

test('owner, group and other bits decide, as the kernel would (ACLs aside)', () => {
  const user = { uid: 1000, groups: [1000, 6] };
  assert.equal(permits({ uid: 1000, gid: 0, mode: 0o100400 }, user, 4), true);
  assert.equal(permits({ uid: 1000, gid: 0, mode: 0o100044 }, user, 4), false, 'the owner class decides for the owner');
  assert.equal(permits({ uid: 0, gid: 6, mode: 0o100640 }, user, 4), true);
  assert.equal(permits({ uid: 0, gid: 42, mode: 0o100640 }, user, 4), false);
  assert.equal(permits({ uid: 0, gid: 0, mode: 0o040711 }, user, 1), true);
  assert.equal(permits({ uid: 0, gid: 0, mode: 0o040700 }, user, 1), false);
  assert.equal(permits({ uid: 5, gid: 5, mode: 0o100000 }, { uid: 0, groups: [] }, 4), true);
  assert.deepEqual(userGroups(0).includes(0), true);
});

const job = (source: string, target: string): FlashJob => ({
  source: { kind: 'file', path: source },
  targets: [{ path: target }],
  options: { verify: true, full: true },
});

async function flashAsNobody(source: string, target: string): Promise<{ error?: BlockwiseError }> {
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved}`;
  const client = new EngineClient(helperTransport({ devices: [target], elevator: 'pkexec', includeLoop: true }));
  process.env.PATH = saved;
  try {
    await client.flash(job(source, target)).result;
    return {};
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, String(error));
    return { error };
  } finally {
    await client.close();
  }
}

test('as uid 65534 the helper refuses root-only files, hidden folders, drives and symlinks to them; flashes a readable file', { skip }, async () => {
  const loop = createLoopDevice(8 * MiB);
  const other = createLoopDevice(4 * MiB, { fill: 'garbage' });
  try {
    const secret = path.join(dir, 'secret.img');
    fillGarbage(secret, MiB, 7);
    chmodSync(secret, 0o600);
    let r = await flashAsNobody(secret, loop.path);
    assert.equal(r.error?.code, 'PERMISSION_DENIED');
    assert.match(r.error!.message, new RegExp(`refuses to read ${secret}: uid 65534 may not read it \\(mode 600`));

    const link = path.join(dir, 'innocent.img');
    symlinkSync(secret, link);
    r = await flashAsNobody(link, loop.path);
    assert.equal(r.error?.code, 'PERMISSION_DENIED', 'a symlink is judged by what it points to');

    const closed = path.join(dir, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    const inClosed = path.join(closed, 'open.img');
    fillGarbage(inClosed, MiB, 8);
    chmodSync(inClosed, 0o644);
    r = await flashAsNobody(inClosed, loop.path);
    assert.equal(r.error?.code, 'PERMISSION_DENIED');
    assert.match(r.error!.message, new RegExp(`may not enter the folder ${closed}`));

    r = await flashAsNobody(other.path, loop.path);
    assert.equal(r.error?.code, 'PERMISSION_DENIED');
    assert.match(r.error!.message, /it is a device/);

    if (existsSync('/etc/shadow')) {
      r = await flashAsNobody('/etc/shadow', loop.path);
      assert.equal(r.error?.code, 'PERMISSION_DENIED');
    }
    assert.equal(loop.bytesWritten(), 0, 'a refused source wrote to the drive');
    assert.ok(readBacking(loop, 0, MiB).equals(Buffer.alloc(MiB)));

    const shared = path.join(dir, 'shared.img');
    fillGarbage(shared, 2 * MiB, 9);
    chmodSync(shared, 0o644);
    r = await flashAsNobody(shared, loop.path);
    assert.equal(r.error, undefined, r.error?.message);
    assert.ok(readBacking(loop, 0, 2 * MiB).equals(readFileSync(shared)), 'the readable image is not on the drive');
  } finally {
    loop.dispose();
    other.dispose();
  }
});
