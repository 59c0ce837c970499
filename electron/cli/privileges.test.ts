// The CLI run by an ordinary user (uid 65534, no groups) against a real loop device it may not
// open: without a terminal it stops before writing and prints the exact sudo command; in a
// terminal (`script` gives it one) it asks sudo — here a stand-in sudo that declines — and reports
// ELEVATION_DECLINED. Nothing reaches the drive either way.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLoopDevice, loopSkipReason, readBacking } from '../test-support/loop-device';
import { onPath, sudoCommand } from './privileges';
import { BIN } from '../test-support/cli-process';

const MiB = 1 << 20;
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

function skipReason(): string | undefined {
  return loopSkipReason() ?? (onPath('setpriv') ? undefined : 'setpriv (util-linux) is not installed');
}

test('the printed command re-runs the same invocation as root, quoted for a shell', () => {
  const line = sudoCommand(['flash', "my image's.img", '--to', '/dev/sdb'], { BLOCKWISE_INCLUDE_LOOP: '1' });
  assert.equal(line, `sudo BLOCKWISE_INCLUDE_LOOP=1 ${process.execPath} ${process.argv[1]} flash 'my image'\\''s.img' --to /dev/sdb`);
  assert.doesNotMatch(sudoCommand(['list'], {}), /INCLUDE_LOOP/);
});

describe('blockwise flash as an ordinary user', { skip: skipReason() }, () => {
  let dir = '';
  let image = '';

  before(() => {
    dir = mkdtempSync('/dev/shm/blockwise-cli-privileges-');
    chmodSync(dir, 0o755); // uid 65534 must reach the image
    image = path.join(dir, 'disk.img');
    writeFileSync(image, randomBytes(MiB), { mode: 0o644 });
    mkdirSync(path.join(dir, 'bin'));
    // Stands in for sudo whose password prompt was refused: logs its arguments, exits 1 silently.
    writeFileSync(path.join(dir, 'sudo.args'), '');
    chmodSync(path.join(dir, 'sudo.args'), 0o666); // the stand-in runs as uid 65534
    writeFileSync(path.join(dir, 'bin', 'sudo'), `#!/bin/sh\necho "$@" > ${dir}/sudo.args\nexit 1\n`, { mode: 0o755 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('without a terminal: exit 1, PERMISSION_DENIED naming the device and the sudo command, nothing written', () => {
    const loop = createLoopDevice(4 * MiB, { fill: 'garbage' });
    try {
      const before = readBacking(loop, 0, MiB);
      const r = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, BIN, 'flash', image, '--to', loop.path, '--yes'], {
        encoding: 'utf8',
        env: { ...process.env, BLOCKWISE_INCLUDE_LOOP: '1' },
        input: '',
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`nobody \\(uid 65534\\) may not open ${loop.path} for writing, so nothing was written`));
      assert.ok(r.stderr.includes(`  sudo BLOCKWISE_INCLUDE_LOOP=1 ${process.execPath} ${BIN} flash ${image} --to ${loop.path} --yes\n`), r.stderr);
      assert.equal(loop.bytesWritten(), 0);
      assert.ok(readBacking(loop, 0, MiB).equals(before));

      const json = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, BIN, 'verify', image, '--against', loop.path, '--json'], {
        encoding: 'utf8',
        env: { ...process.env, BLOCKWISE_INCLUDE_LOOP: '1' },
        input: '',
      });
      assert.equal(json.status, 1);
      const line = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as { type: string; error: { code: string; message: string } };
      assert.equal(line.error.code, 'PERMISSION_DENIED');
      assert.match(line.error.message, /for reading/);
    } finally {
      loop.dispose();
    }
  });

  test('in a terminal: asks sudo for the helper; a refused sudo is ELEVATION_DECLINED, exit 1, nothing written', { skip: onPath('script') ? undefined : 'script (util-linux) is not installed' }, () => {
    const loop = createLoopDevice(4 * MiB, { fill: 'garbage' });
    try {
      const command = [process.execPath, BIN, 'flash', image, '--to', loop.path, '--yes'].join(' ');
      const r = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), 'script', '-qec', command, '/dev/null'], {
        encoding: 'utf8',
        env: { ...process.env, BLOCKWISE_INCLUDE_LOOP: '1', PATH: `${dir}/bin:${process.env.PATH}` },
        input: '',
      });
      const out = r.stdout.replace(/\r/g, '');
      assert.equal(r.status, 1, out);
      assert.match(out, new RegExp(`Writing ${loop.path} needs administrator rights: asking sudo`));
      assert.match(out, new RegExp(`Administrator rights were not granted to write ${loop.path}\\. Nothing was written`));
      const sudoArgs = readFileSync(path.join(dir, 'sudo.args'), 'utf8').trim();
      assert.equal(sudoArgs, `-- ${process.execPath} ${path.resolve(__dirname, '../helper/main.js')} --device ${loop.path} --include-loop --uid 65534`);
      assert.equal(loop.bytesWritten(), 0);
    } finally {
      loop.dispose();
    }
  });
});
