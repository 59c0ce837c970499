// The CLI used the wrong way: a drive named twice, SIGTERM mid-write, an ftp:// or file:// IMAGE, a
// --sha256 pasted the way release pages show it. Real process, real loop devices.

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createLoopDevice, isRoot, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { onPath } from './privileges';
import { BIN, cli, LOOP_ENV } from '../test-support/cli-process';

const MiB = 1024 * 1024;

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

  test('run as node dist/electron/cli/main.js, the command runs (it did nothing and exited 0)', () => {
    const script = path.join(__dirname, 'main.js');
    const run = (args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: LOOP_ENV, input: '', timeout: 60_000 });
    const missing = run(['flash', '/nonexistent/os.img']);
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /--to/);
    const list = run(['list', '--json']);
    assert.equal(list.status, 0, list.stderr);
    assert.ok(Array.isArray(JSON.parse(list.stdout)));
  });

  test('the drive given without --to (flash os.img /dev/sdb), or a pattern matching several images: said so, with the command to type; exit 2, nothing written', () => {
    const forgot = cli(['flash', '/tmp/os.img', '/dev/sdz', '--yes']);
    assert.equal(forgot.code, 2, forgot.stderr);
    assert.match(forgot.stderr, /flash takes one IMAGE, but was given 2: \/tmp\/os\.img, \/dev\/sdz\. To write to \/dev\/sdz, give it with --to: blockwise flash \/tmp\/os\.img --to \/dev\/sdz/);
    const verify = cli(['verify', '/tmp/os.img', '/dev/sdz']);
    assert.equal(verify.code, 2, verify.stderr);
    assert.match(verify.stderr, /To compare with \/dev\/sdz, give it with --against: blockwise verify \/tmp\/os\.img --against \/dev\/sdz/);
    const several = cli(['flash', 'a.img', 'b.img', 'c.img', '--to', '/tmp/out.img', '--yes']);
    assert.equal(several.code, 2, several.stderr);
    assert.match(several.stderr, /flash takes one IMAGE, but was given 3: a\.img, b\.img, c\.img\. Run it once for each image/);
    const none = cli(['flash', '--to', '/tmp/out.img']);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /flash needs an IMAGE: blockwise flash IMAGE --to DEVICE/);
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
      // One slash after "file:", as RFC 8089 allows: the same file, not a relative path "file:/…".
      const oneSlash = cli(['flash', `file:${path.join(dir, 'my%20disk.img')}`, '--to', out, '--yes', '--full']);
      assert.equal(oneSlash.code, 0, oneSlash.stderr);
      const ftp = cli(['flash', 'ftp://127.0.0.1/os.img', '--to', out, '--yes']);
      assert.equal(ftp.code, 2, ftp.stderr);
      assert.match(ftp.stderr, /downloads only http:\/\/ and https:\/\/ addresses, not ftp:\/\//);
      assert.doesNotMatch(ftp.stderr, /does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('IMAGE "-", "" or a quoted ~/path is a usage error saying why (exit 2), not "it does not exist"', () => {
    const out = '/dev/shm/blockwise-cli-never-written.img';
    const stdin = cli(['flash', '-', '--to', out, '--yes']);
    assert.equal(stdin.code, 2, stdin.stderr);
    assert.match(stdin.stderr, /IMAGE "-": Blockwise does not read the image from standard input/);
    const empty = cli(['flash', '', '--to', out, '--yes']);
    assert.equal(empty.code, 2, empty.stderr);
    assert.match(empty.stderr, /IMAGE is empty/);
    const env: NodeJS.ProcessEnv = { ...LOOP_ENV, HOME: '/home/someone' };
    delete env.SUDO_USER;
    const tilde = spawnSync(process.execPath, [BIN, 'verify', '~/raspios.img', '--against', out], { encoding: 'utf8', env, input: '' });
    assert.equal(tilde.status, 2, tilde.stderr);
    assert.match(tilde.stderr, /~\/raspios\.img: ~ means your home folder only where the shell expands it, and it does not inside quotes; give the full path \(\/home\/someone\/raspios\.img\)/);
    for (const r of [stdin, empty, tilde]) assert.doesNotMatch(r.stderr, /does not exist/);
    assert.equal(existsSync(out), false, 'nothing was created');
  });

  test('--to the image file itself (or a link to it) is refused with a file\'s advice, and the image is left intact', () => {
    const dir = mkdtempSync('/dev/shm/blockwise-cli-self-');
    try {
      const image = randomBytes(MiB);
      writeFileSync(path.join(dir, 'os.img'), image);
      symlinkSync(path.join(dir, 'os.img'), path.join(dir, 'link.img'));
      for (const to of ['os.img', 'link.img']) {
        const r = cli(['flash', path.join(dir, 'os.img'), '--to', path.join(dir, to), '--yes']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /is the image file itself\. Give --to another file: writing the image over itself would destroy it\./);
        assert.doesNotMatch(r.stderr, /pick another drive/);
      }
      assert.ok(readFileSync(path.join(dir, 'os.img')).equals(image), 'the image is intact');
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
      // A whole SHA256SUMS, as "$(cat SHA256SUMS)" gives it: the line naming os.img is taken.
      const sums = `${'1'.repeat(64)}  other.img\n${hex}  os.img\n${'2'.repeat(64)}  os-full.img\n`;
      for (const given of [`sha256:${hex}`, `${hex.toUpperCase()}  os.img`, sums]) {
        const r = cli(['flash', path.join(dir, 'os.img'), '--to', out, '--yes', '--sha256', given]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /Checksum: matches the SHA-256 given\n/);
      }
      const wrong = cli(['flash', path.join(dir, 'os.img'), '--to', out, '--yes', '--sha256', `sha256:${'0'.repeat(64)}`]);
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.match(wrong.stderr, /not the expected 0{64}/);
      const unnamed = cli(['flash', path.join(dir, 'os.img'), '--to', out, '--yes', '--sha256', `${'1'.repeat(64)}  a.img\n${'2'.repeat(64)}  b.img\n`]);
      assert.equal(unnamed.code, 2);
      assert.match(unnamed.stderr, /--sha256 \(2 lines\): That holds several checksums, and no line of it names os\.img; paste just the one for this image\./);
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

  test('a device path that does not exist (/dev/loop999, /dev/sdz): says so and points to blockwise list, not "plug it back in"', () => {
    for (const device of ['/dev/loop999', '/dev/sdz']) {
      assert.equal(existsSync(device), false, `${device} exists on this machine`);
      const r = cli(['flash', __filename, '--to', device, '--yes']);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `\nError: ${device} does not exist: no drive is connected under that name. Run "blockwise list" to see the drives, and give one of them as --to.\n`);
      const verify = cli(['verify', __filename, '--against', device]);
      assert.equal(verify.code, 1, verify.stderr);
      assert.match(verify.stderr, new RegExp(`${device} does not exist: no drive is connected under that name\\. Run "blockwise list" to see the drives, and give one of them as --against\\.`));
      assert.doesNotMatch(r.stderr + verify.stderr, /plug it back in|is gone/i);
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

  test('the same image file twice, through a symbolic or a hard link, is a usage error too; it is not written', () => {
    const image = path.join(dir, 'one.img');
    writeFileSync(image, randomBytes(MiB));
    const out = path.join(dir, 'copy.img');
    const before = randomBytes(1000);
    writeFileSync(out, before);
    const soft = path.join(dir, 'copy-link.img');
    const hard = path.join(dir, 'copy-hard.img');
    symlinkSync(out, soft);
    linkSync(out, hard);
    for (const second of [soft, hard]) {
      const r = cli(['flash', image, '--to', out, '--to', second, '--yes']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`--to ${second} is the same file as --to ${out}; name each file once`));
      assert.ok(readFileSync(out).equals(before), 'the file is untouched');
    }
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
      const child = spawn(process.execPath, [BIN, 'flash', big, '--to', dev.path, '--yes', '--json'], { env: LOOP_ENV });
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

/** Mounts a small tmpfs at a new folder in `parent`: a filesystem of its own to fill or make read-only. */
function tmpfs(parent: string, name: string, size: string): string {
  const at = path.join(parent, name);
  mkdirSync(at);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', at]);
  return at;
}

describe('blockwise CLI writing an image file that fails', { skip: isRoot() && onPath('mount') ? undefined : 'mounting a tmpfs needs root' }, () => {
  let dir = '';
  const mounts: string[] = [];
  before(() => {
    dir = mkdtempSync('/tmp/blockwise-cli-file-target-');
    chmodSync(dir, 0o755); // uid 65534 must reach the image
  });
  after(() => {
    for (const m of mounts.reverse()) spawnSync('umount', [m]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a full filesystem: the file is said incomplete and the advice is to free space where it is mounted, not to use a larger drive', () => {
    const full = tmpfs(dir, 'full', '2m');
    mounts.push(full);
    const image = path.join(dir, 'four.img');
    writeFileSync(image, randomBytes(4 * MiB));
    const r = cli(['flash', image, '--to', path.join(full, 'out.img'), '--yes']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`Error: ${full}/out\\.img is full at byte \\d+: the image does not fit\\. The file is incomplete: it does not hold the whole image\\. Free space on the filesystem mounted at ${full}, which holds it, or write the image file to another filesystem with more room\\.\\n$`));
    assert.doesNotMatch(r.stderr, /larger drive|card|will not boot/);
  });

  test('a read-only filesystem: the advice names it as read-only, not a lock switch', () => {
    const ro = tmpfs(dir, 'ro', '1m');
    mounts.push(ro);
    writeFileSync(path.join(ro, 'old.img'), 'x');
    execFileSync('mount', ['-o', 'remount,ro', ro]);
    const image = path.join(dir, 'one.img');
    writeFileSync(image, randomBytes(MiB));
    for (const target of [path.join(ro, 'old.img'), path.join(ro, 'new.img')]) {
      const r = cli(['flash', image, '--to', target, '--yes']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`Error: ${target} is on a read-only filesystem\\. The filesystem mounted at ${ro}, which holds it, is read-only: write the image file to a folder on another filesystem, or remount it read-write\\.`));
      assert.doesNotMatch(r.stderr, /lock switch|card|adapter|write-protected/);
    }
  });

  test('a folder the user may not write: advice about its permissions, not administrator rights for drives', { skip: onPath('setpriv') ? undefined : 'setpriv (util-linux) is not installed' }, () => {
    const image = path.join(dir, 'user.img');
    writeFileSync(image, randomBytes(MiB), { mode: 0o644 });
    const closed = path.join(dir, 'root-only');
    mkdirSync(closed, { mode: 0o755 });
    writeFileSync(path.join(closed, 'old.img'), 'x', { mode: 0o644 });
    for (const [target, check] of [
      [path.join(closed, 'new.img'), `check the permissions of the folder ${closed}`],
      [path.join(closed, 'old.img'), `check the permissions of the file and of its folder ${closed}`],
    ] as const) {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'flash', image, '--to', target, '--yes'], { encoding: 'utf8', env: LOOP_ENV, input: '' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`Error: No permission to write ${target}\\. You \\(uid 65534\\) may not write there: ${check}, or write the image file to a folder of your own\\.`));
      assert.doesNotMatch(r.stderr, /administrator|sudo|drives/);
    }
  });
});

describe('blockwise CLI given a partition', { skip: loopSkipReason() ?? (onPath('sfdisk') && onPath('partx') ? undefined : 'sfdisk and partx (util-linux) are needed') }, () => {
  test('a partition of a loop device is refused naming its drive, and how to flash the whole drive; nothing is written', () => {
    const dev = createLoopDevice(64 * MiB);
    try {
      execFileSync('sfdisk', ['-q', dev.path], { input: 'label: dos\n,16M\n,\n' });
      execFileSync('partx', ['-a', dev.path]);
      const partition = `${dev.path}p1`;
      const dir = mkdtempSync('/dev/shm/blockwise-cli-partition-');
      try {
        const image = path.join(dir, 'one.img');
        writeFileSync(image, randomBytes(MiB));
        const before = dev.bytesWritten();
        const r = cli(['flash', image, '--to', partition, '--yes']);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stderr, `\nError: ${partition} is a partition of ${dev.path}; Blockwise writes whole drives only. Flash the whole drive: --to ${dev.path} (everything on it is erased).\n`);
        const json = cli(['flash', image, '--to', partition, '--yes', '--json']);
        const line = JSON.parse(json.stdout.trim()) as { error: { code: string; details: { drive: string } } };
        assert.equal(line.error.code, 'TARGET_NOT_ALLOWED');
        assert.equal(line.error.details.drive, dev.path);
        const verify = cli(['verify', image, '--against', partition]);
        assert.match(verify.stderr, new RegExp(`${partition} is a partition of ${dev.path}; Blockwise reads whole drives only\\. Compare with the whole drive: --against ${dev.path}\\.`));
        assert.equal(dev.bytesWritten(), before, 'nothing written');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      dev.dispose();
    }
  });
});
