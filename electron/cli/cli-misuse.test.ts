// The CLI used the wrong way: a drive named twice, SIGTERM mid-write, an ftp:// or file:// IMAGE, a
// --sha256 pasted the way release pages show it. Real process, real loop devices.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';

const BIN = path.resolve(__dirname, '../../../bin/blockwise.js');
const MiB = 1024 * 1024;
const LOOP = { ...process.env, BLOCKWISE_INCLUDE_LOOP: '1' };

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: LOOP, input: '', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('blockwise CLI misuse', () => {
  test('a mistyped option exits 2 naming it, the closest option and the ones the command takes', () => {
    const r = cli(['flash', 'x.img', '--sha265', 'ab', '--to', '/tmp/out.img']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown option --sha265 for flash \(did you mean --sha256\?\); it takes --to, --yes/);
    const far = cli(['flash', 'x.img', '--verfy', '--to', '/tmp/out.img']);
    assert.equal(far.code, 2);
    assert.match(far.stderr, /unknown option --verfy for flash; it takes .*--no-verify/);
    assert.doesNotMatch(far.stderr, /positional argument/);
  });

  test('with --json a usage error is also a JSON error line on stdout (exit 2), and list --json is one line', () => {
    const r = cli(['flash', 'x.img', '--to', '/tmp/out.img', '--sha256', 'abc', '--json']);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const line = JSON.parse(lines[0]!);
    assert.equal(line.type, 'error');
    assert.equal(line.error.code, 'INVALID_REQUEST');
    assert.match(line.error.message, /--sha256 "abc"/);
    const list = cli(['list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.trim().split('\n').length, 1, list.stdout);
    assert.ok(Array.isArray(JSON.parse(list.stdout)));
  });

  test('IMAGE as a file:// address is that file; ftp:// and other schemes are refused by name (exit 2)', () => {
    const dir = mkdtempSync('/dev/shm/blockwise-cli-scheme-');
    try {
      const image = randomBytes(MiB);
      writeFileSync(path.join(dir, 'my disk.img'), image);
      const out = path.join(dir, 'out.img');
      writeFileSync(out, Buffer.alloc(MiB));
      const r = cli(['flash', pathToFileURL(path.join(dir, 'my disk.img')).href, '--to', out, '--yes', '--full']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(readFileSync(out).subarray(0, MiB).equals(image));
      const ftp = cli(['flash', 'ftp://127.0.0.1/os.img', '--to', out, '--yes']);
      assert.equal(ftp.code, 2, ftp.stderr);
      assert.match(ftp.stderr, /downloads only http:\/\/ and https:\/\/ addresses, not ftp:\/\//);
      assert.doesNotMatch(ftp.stderr, /does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--sha256 takes what a release page shows ("sha256:HEX") or a SHA256SUMS line, as the app does', () => {
    const dir = mkdtempSync('/dev/shm/blockwise-cli-sha-');
    try {
      const image = randomBytes(MiB);
      const hex = createHash('sha256').update(image).digest('hex');
      writeFileSync(path.join(dir, 'os.img'), image);
      const out = path.join(dir, 'out.img');
      writeFileSync(out, Buffer.alloc(MiB));
      for (const given of [`sha256:${hex}`, `${hex.toUpperCase()}  os.img`]) {
        const r = cli(['flash', path.join(dir, 'os.img'), '--to', out, '--yes', '--sha256', given]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /Checksum: matches the SHA-256 given\n/);
      }
      const wrong = cli(['flash', path.join(dir, 'os.img'), '--to', out, '--yes', '--sha256', `sha256:${'0'.repeat(64)}`]);
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.match(wrong.stderr, /not the expected 0{64}/);
      const sha512 = cli(['flash', path.join(dir, 'os.img'), '--to', out, '--yes', '--sha256', 'ab'.repeat(64)]);
      assert.equal(sha512.code, 2);
      assert.match(sha512.stderr, /looks like a SHA-512/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an archive with several images: exit 2, and the error says how to choose one here (--entry), not only "choose"', () => {
    const dir = mkdtempSync('/tmp/blockwise-cli-entries-');
    try {
      writeFileSync(path.join(dir, 'a.img'), randomBytes(4096));
      writeFileSync(path.join(dir, 'b.img'), randomBytes(4096));
      spawnSync('zip', ['-q', 'two.zip', 'a.img', 'b.img'], { cwd: dir });
      const out = path.join(dir, 'out.img');
      const r = cli(['flash', path.join(dir, 'two.zip'), '--to', out, '--yes']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /two\.zip holds several images: a\.img, b\.img\. Choose one with --entry, e\.g\. --entry "a\.img"\.\n$/);
      assert.equal(r.stderr.split('several').length, 2, `said once: ${r.stderr}`);
      // An --entry that does not fit the image is a wrong argument too, and nothing is written.
      const missing = cli(['flash', path.join(dir, 'two.zip'), '--to', out, '--yes', '--entry', 'c.img']);
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /c\.img/);
      const bare = cli(['flash', path.join(dir, 'a.img'), '--to', out, '--yes', '--entry', 'b.img']);
      assert.equal(bare.code, 2, bare.stderr);
      assert.match(bare.stderr, /a\.img is not an archive, so it has no entry named b\.img/);
      assert.equal(existsSync(out), false, 'a refused flash created the output file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--to a file in a folder that does not exist: exit 2 naming the folder, not "the drive is gone"', () => {
    const r = cli(['flash', __filename, '--to', '/nonexistent-blockwise-dir/sub/out.img', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the folder \/nonexistent-blockwise-dir\/sub does not exist/);
    assert.doesNotMatch(r.stderr, /unplugged|drive is gone/);
  });
});

describe('blockwise CLI misuse on loop devices', { skip: loopSkipReason() }, () => {
  let dir = '';
  const devices: LoopDevice[] = [];
  const device = (size: number) => {
    const d = createLoopDevice(size, { fill: 'garbage' });
    devices.push(d);
    return d;
  };
  before(() => {
    dir = mkdtempSync('/dev/shm/blockwise-cli-misuse-');
  });
  after(() => {
    for (const d of devices) d.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the same drive twice (also through a symlink) is a usage error naming it; nothing is written', () => {
    const dev = device(8 * MiB);
    const image = path.join(dir, 'small.img');
    writeFileSync(image, randomBytes(MiB));
    const link = path.join(dir, 'stick');
    symlinkSync(dev.path, link);
    for (const second of [dev.path, link]) {
      const r = cli(['flash', image, '--to', dev.path, '--to', second, '--yes']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`--to ${second} names ${dev.path}, which is already a target`));
      assert.doesNotMatch(r.stderr, /bug in Blockwise/);
    }
    assert.equal(dev.bytesWritten(), 0);
  });

  test('SIGTERM mid-write cancels like Ctrl-C: exit 130, drive reported incomplete, drive free again', async () => {
    const dev = device(64 * MiB);
    const big = path.join(dir, 'big.img');
    const bytes = randomBytes(48 * MiB);
    writeFileSync(big, bytes);
    const throttle = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';
    writeFileSync(throttle, `${dev.majMin} ${8 * MiB}`);
    let sent = false;
    try {
      const child = spawn(process.execPath, [BIN, 'flash', big, '--to', dev.path, '--yes', '--json'], { env: LOOP });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.on('data', (d) => {
        stdout += d;
        if (!sent && /"phase":"writing","position":[1-9]/.test(stdout)) {
          sent = true;
          child.kill('SIGTERM');
        }
      });
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
      assert.ok(sent, 'saw write progress');
      assert.equal(signal, null, 'the CLI handled SIGTERM instead of dying of it');
      assert.equal(code, 130, stderr);
      const last = JSON.parse(stdout.trim().split('\n').at(-1)!);
      assert.equal(last.type, 'error');
      assert.equal(last.error.code, 'CANCELLED');
      assert.equal(last.error.details.driveIncomplete, true);
    } finally {
      writeFileSync(throttle, `${dev.majMin} 0`);
    }
    // Nothing holds the drive any more: a new flash opens it exclusively and succeeds.
    const small = path.join(dir, 'after.img');
    const after = randomBytes(MiB);
    writeFileSync(small, after);
    const r = cli(['flash', small, '--to', dev.path, '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readBacking(dev, 0, MiB).equals(after));
  });
});
