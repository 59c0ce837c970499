// The real `blockwise` command as a user runs it: exit codes, messages, bytes on loop devices.

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { BIN } from '../test-support/cli-process';
import { ptySkipReason, runOnTerminal } from '../test-support/pty-run';
import { bmaptoolCreate, bmaptoolSkipReason, makeSparseImage } from '../engine/bmap/bmap-fixtures';

const MiB = 1024 * 1024;

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, BLOCKWISE_INCLUDE_LOOP: undefined, ...env },
    input: '',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const LOOP = { BLOCKWISE_INCLUDE_LOOP: '1' };

/** Runs the CLI with --json and calls `interrupt` once write progress shows; resolves when it exits. */
async function interruptWhileWriting(args: string[], env: NodeJS.ProcessEnv, interrupt: (child: ChildProcess) => void) {
  const child = spawn(process.execPath, args, { env, detached: true });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!sent && /"phase":"writing","position":[1-9]/.test(stdout)) {
      sent = true;
      interrupt(child);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr, sent };
}

describe('blockwise CLI: arguments', () => {
  test('--help prints usage and exits 0', () => {
    const r = cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /blockwise flash IMAGE --to DEVICE/);
  });

  test('an unknown command exits 2 with a hint', () => {
    const r = cli(['burn', 'x.img']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "burn"/);
    assert.match(r.stderr, /--help/);
  });

  test('flash without a target exits 2', () => {
    const r = cli(['flash', 'x.img']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--to DEVICE/);
  });

  test('a malformed --sha256 exits 2', () => {
    const r = cli(['flash', 'x.img', '--to', '/tmp/out.img', '--sha256', 'abc']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /64 hexadecimal/);
  });
});

describe('blockwise CLI on loop devices', { skip: loopSkipReason() }, () => {
  let dir = '';
  let image = '';
  let bytes: Buffer;
  const devices: LoopDevice[] = [];
  const device = (size: number) => {
    const d = createLoopDevice(size, { fill: 'garbage' });
    devices.push(d);
    return d;
  };

  before(() => {
    dir = mkdtempSync('/dev/shm/blockwise-cli-test-');
    bytes = randomBytes(6 * MiB + 1000);
    image = path.join(dir, 'disk.img');
    writeFileSync(image, bytes);
  });
  after(() => {
    for (const d of devices) d.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('list shows loop devices only with the opt-in', () => {
    const dev = device(8 * MiB);
    const without = cli(['list', '--json']);
    assert.equal(without.code, 0, without.stderr);
    assert.ok(!JSON.parse(without.stdout).some((d: { path: string }) => d.path === dev.path));
    const withLoop = cli(['list', '--json'], LOOP);
    assert.equal(withLoop.code, 0, withLoop.stderr);
    const listed = JSON.parse(withLoop.stdout).find((d: { path: string }) => d.path === dev.path);
    assert.ok(listed, `${dev.path} listed`);
    assert.equal(listed.size, 8 * MiB);
  });

  test('flash --yes --json writes, verifies, and exits 0 with JSON lines', () => {
    const dev = device(16 * MiB);
    const r = cli(['flash', image, '--to', dev.path, '--yes', '--json'], LOOP);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.type === 'progress'));
    const done = lines.at(-1);
    assert.equal(done.type, 'done');
    assert.equal(done.result.targets[0].verified, true);
    assert.ok(readBacking(dev, 0, bytes.length).equals(bytes));
  });

  test('a download that breaks off is resumed: said once on a pipe, every byte on the drive, exit 0', async () => {
    const cut = 2 * MiB + 77;
    const asked: string[] = [];
    const server = http.createServer((req, res) => {
      if (req.url !== '/disk.img') return res.writeHead(404).end();
      const common = { etag: '"v1"', 'accept-ranges': 'bytes' };
      if (!req.headers.range) {
        res.writeHead(200, { ...common, 'content-length': bytes.length });
        res.write(bytes.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 50));
        return;
      }
      asked.push(req.headers.range);
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range)?.[1]);
      res.writeHead(206, { ...common, 'content-length': bytes.length - start, 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` });
      res.end(bytes.subarray(start));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/disk.img`;
      const dev = device(16 * MiB);
      // Spawned, not spawnSync: this process serves the download meanwhile.
      const child = spawn(process.execPath, [BIN, 'flash', url, '--to', dev.path, '--yes'], { env: { ...process.env, ...LOOP }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, out);
      const said = out.split('\n').filter((l) => l.startsWith('The download broke off'));
      assert.deepEqual(said, [`The download broke off at byte ${cut} (the connection was closed); reconnecting to resume it…`], out);
      assert.deepEqual(asked, [`bytes=${cut}-`]);
      assert.ok(readBacking(dev, 0, bytes.length).equals(bytes));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('--to a new file creates it as a byte-exact copy of the image, verified', () => {
    const out = path.join(dir, 'copy.img');
    const r = cli(['flash', image, '--to', out, '--yes', '--json'], LOOP);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1)!).result.targets[0].verified, true);
    assert.ok(readFileSync(out).equals(bytes), 'the file holds the image');
  });

  test('the summary names the .bmap beside the image that chose what was written, not "unused filesystem space"', { skip: bmaptoolSkipReason() }, () => {
    const sparse = path.join(dir, 'mapped.img');
    makeSparseImage(sparse, 4 * MiB, [{ at: MiB, length: 8192 }]);
    bmaptoolCreate(sparse, `${sparse}.bmap`);
    const out = path.join(dir, 'mapped-copy.img');
    const r = cli(['flash', sparse, '--to', out, '--yes'], LOOP);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Wrote 8\\.2 kB of 4\\.2 MB \\(the rest is not mapped in its block map ${sparse.replace(/[.]/g, '\\.')}\\.bmap\\)`));
    assert.doesNotMatch(r.stderr, /unused filesystem space/);
  });

  test('--to a bare drive name (loopN for /dev/loopN) is a usage error naming the full path; no file, no write', () => {
    const dev = device(16 * MiB);
    const before = readBacking(dev, 0, 65536);
    const name = path.basename(dev.path);
    const r = spawnSync(process.execPath, [BIN, 'flash', image, '--to', name, '--yes'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...LOOP } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--to /dev/${name}`));
    assert.equal(existsSync(path.join(dir, name)), false, 'no file made');
    assert.ok(readBacking(dev, 0, 65536).equals(before), 'nothing written');
  });

  test('--to a drive name with no such drive connected (sdz, mmcblk9) or an empty --to is a usage error; no file is made', () => {
    for (const name of ['sdz', 'mmcblk9', 'nvme9n1']) {
      const r = spawnSync(process.execPath, [BIN, 'flash', image, '--to', name, '--yes'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...LOOP } });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`no drive /dev/${name} is connected.*--to \\./${name}`));
      assert.equal(existsSync(path.join(dir, name)), false, 'no file made');
    }
    const empty = spawnSync(process.execPath, [BIN, 'flash', image, '--to', '', '--yes'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...LOOP } });
    assert.equal(empty.status, 2, empty.stderr);
    assert.match(empty.stderr, /--to was given an empty path/);
  });

  test('--to a link to a drive that is not plugged in: refused naming where it points; no file made in /dev, no "written and verified"', () => {
    const missing = `/dev/blockwise-test-unplugged-${process.pid}`;
    const link = path.join(dir, 'my-sd-card');
    symlinkSync(missing, link);
    try {
      const r = cli(['flash', image, '--to', link, '--yes'], LOOP);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${link} is a link to ${missing}, which does not exist: no drive is connected under that name`));
      assert.doesNotMatch(r.stderr, /written and verified/);
      assert.equal(existsSync(missing), false, 'no file made in /dev');
    } finally {
      rmSync(missing, { force: true });
      rmSync(link, { force: true });
    }
  });

  test('--to or --against a regular file in /dev (what dd leaves for an unplugged drive): refused as no drive, the file untouched', () => {
    const stray = `/dev/blockwise-test-stray-${process.pid}`;
    const old = randomBytes(1000);
    writeFileSync(stray, old);
    try {
      const r = cli(['flash', image, '--to', stray, '--yes'], LOOP);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${stray} is a regular file, not a drive: no drive is connected under that name.*sudo rm ${stray}`));
      assert.doesNotMatch(r.stderr, /written and verified/);
      assert.ok(readFileSync(stray).equals(old), 'the file is untouched');
      const v = cli(['verify', image, '--against', stray], LOOP);
      assert.equal(v.code, 1, v.stderr);
      assert.match(v.stderr, /is a regular file, not a drive.*--against/);
    } finally {
      rmSync(stray, { force: true });
    }
  });

  test('Ctrl-C or Ctrl-D at the confirmation question: cancelled, nothing written, exit 130, no stack trace', { skip: ptySkipReason() }, () => {
    const dev = device(16 * MiB);
    for (const key of ['\x03', '\x04']) {
      const r = runOnTerminal(['flash', image, '--to', dev.path], 'Type "yes" to continue', Buffer.from(key), { ...process.env, ...LOOP });
      assert.equal(r.code, 130, r.output);
      assert.match(r.output, /Error: Not confirmed \(cancelled at the question\): nothing was written\./);
      assert.doesNotMatch(r.output, /AbortError|\n {4}at /);
      assert.equal(dev.bytesWritten(), 0);
    }
  });

  test('--to an existing folder: said to be one, with the image file to give in it (the image\'s name, uncompressed)', () => {
    const folder = mkdtempSync(path.join(dir, 'folder-'));
    const xz = path.join(dir, 'named.img.xz');
    writeFileSync(xz, execFileSync('xz', ['-c'], { input: randomBytes(64 * 1024) }));
    const r = cli(['flash', xz, '--to', folder, '--yes'], LOOP);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${folder} is a folder\\. To save the image as a file in it, give the file's name:\\n  --to ${folder}/named\\.img\\n`));
    assert.deepEqual(readdirSync(folder), []);
  });

  test('without --yes and no terminal it refuses and writes nothing', () => {
    const dev = device(16 * MiB);
    const r = cli(['flash', image, '--to', dev.path], LOOP);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refusing to erase without confirmation/);
    assert.match(r.stderr, new RegExp(dev.path));
    assert.equal(dev.bytesWritten(), 0);
  });

  test('a loop device without the opt-in is refused with a clear message', async () => {
    const dev = device(16 * MiB);
    const r = cli(['flash', image, '--to', dev.path, '--yes']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BLOCKWISE_INCLUDE_LOOP=1/);
    assert.equal(dev.bytesWritten(), 0);
  });

  test('a text file named .img is refused: exit 1, says why', async () => {
    const dev = device(16 * MiB);
    const notes = path.join(dir, 'notes.img');
    writeFileSync(notes, 'hello, this is not a disk image\n'.repeat(50));
    const r = cli(['flash', notes, '--to', dev.path, '--yes'], LOOP);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /notes\.img is a text file, not a disk image/);
    assert.equal(dev.bytesWritten(), 0);
  });

  test('verify against a drive another program has open (a flash still writing it): the mismatch names it, to compare again once it is done', () => {
    const dev = device(16 * MiB);
    const holder = spawn('/usr/bin/python3', ['-c', `import os, sys, time\nos.open(sys.argv[1], os.O_RDONLY)\ntime.sleep(60)`, dev.path], { stdio: 'ignore' });
    try {
      execFileSync('sh', ['-c', `for i in $(seq 100); do ls -l /proc/${holder.pid}/fd 2>/dev/null | grep -q ${dev.path} && exit 0; sleep 0.05; done; exit 1`]);
      const r = cli(['verify', image, '--against', dev.path], LOOP);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`differs from the image at byte \\d+\\. It is open in python3 \\(pid ${holder.pid}\\): if that is writing it, compare again once it has finished\\.`));
    } finally {
      holder.kill('SIGKILL');
    }
    const alone = cli(['verify', image, '--against', dev.path], LOOP);
    assert.doesNotMatch(alone.stderr, /It is open in/);
  });

  test('verify compares without writing, and reports the first differing byte', () => {
    const dev = device(16 * MiB);
    assert.equal(cli(['flash', image, '--to', dev.path, '--yes', '--no-verify'], LOOP).code, 0);
    const ok = cli(['verify', image, '--against', dev.path], LOOP);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /matches the image/);
    const changed = Buffer.from(bytes);
    changed[5 * MiB + 3] = changed[5 * MiB + 3]! ^ 0x55;
    const other = path.join(dir, 'other.img');
    writeFileSync(other, changed);
    const bad = cli(['verify', other, '--against', dev.path, '--json'], LOOP);
    assert.equal(bad.code, 1);
    const last = JSON.parse(bad.stdout.trim().split('\n').at(-1)!);
    assert.equal(last.error.code, 'VERIFY_MISMATCH');
    assert.equal(last.error.details.offset, 5 * MiB + 3);
    const said = cli(['verify', other, '--against', dev.path], LOOP);
    assert.equal(said.code, 1);
    assert.match(said.stderr, new RegExp(`${dev.path} differs from the image at byte ${5 * MiB + 3}\\. The drive does not hold this image`));
    assert.doesNotMatch(said.stderr, /did not keep what was written|counterfeit/, 'nothing was written by verify');
    // A cut compressed image: the file's fault, said without claiming the drive was left half written.
    const gz = execFileSync('gzip', ['-c'], { input: bytes, maxBuffer: 64 * MiB });
    const cut = path.join(dir, 'cut.img.gz');
    writeFileSync(cut, gz.subarray(0, gz.length >> 1));
    const before = dev.bytesWritten();
    const cutSaid = cli(['verify', cut, '--against', dev.path, '--json'], LOOP);
    assert.equal(cutSaid.code, 1);
    const cutError = JSON.parse(cutSaid.stdout.trim().split('\n').at(-1)!).error;
    assert.equal(cutError.code, 'SOURCE_TRUNCATED', cutError.message);
    assert.equal(cutError.details.driveIncomplete, undefined, 'verify wrote nothing');
    assert.doesNotMatch(cli(['verify', cut, '--against', dev.path], LOOP).stderr, /incomplete and it will not boot/);
    assert.equal(dev.bytesWritten(), before);
  });

  test('Ctrl-C in a terminal (SIGINT to the whole process group) while xz decodes is a cancel, not a damaged image', async () => {
    const dev = device(64 * MiB);
    const xz = path.join(dir, 'big.img.xz');
    writeFileSync(path.join(dir, 'big-raw.img'), randomBytes(40 * MiB));
    execFileSync('xz', ['-0', '-T2', '-f', '-k', path.join(dir, 'big-raw.img')]);
    renameSync(path.join(dir, 'big-raw.img.xz'), xz);
    const throttle = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';
    writeFileSync(throttle, `${dev.majMin} ${8 * MiB}`);
    try {
      // detached: the CLI leads a process group of its own, as a shell's foreground job does;
      // the signal goes to the whole group, as a terminal's Ctrl-C does.
      const { code, stdout, stderr, sent } = await interruptWhileWriting(
        [BIN, 'flash', xz, '--to', dev.path, '--yes', '--json'],
        { ...process.env, ...LOOP, BLOCKWISE_DECODER: 'system' },
        (child) => process.kill(-child.pid!, 'SIGINT'),
      );
      assert.ok(sent, 'saw write progress');
      assert.equal(code, 130, stderr + stdout.slice(-2000));
      const last = JSON.parse(stdout.trim().split('\n').at(-1)!);
      assert.equal(last.error.code, 'CANCELLED');
    } finally {
      writeFileSync(throttle, `${dev.majMin} 0`);
    }
  });

  test('a second Ctrl-C ends at once (exit 130) saying what it leaves: the drive incomplete, the cancel finishing behind it', async () => {
    const dev = device(64 * MiB);
    const big = path.join(dir, 'big2.img');
    writeFileSync(big, randomBytes(48 * MiB));
    const throttle = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';
    writeFileSync(throttle, `${dev.majMin} ${8 * MiB}`);
    try {
      const { code, stderr, sent } = await interruptWhileWriting([BIN, 'flash', big, '--to', dev.path, '--yes', '--json'], { ...process.env, ...LOOP }, (child) => {
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 100);
      });
      assert.ok(sent, 'saw write progress');
      assert.equal(code, 130, stderr);
      assert.match(stderr, new RegExp(`Stopped without waiting for the cancel to end: ${dev.path} is incomplete and will not boot \\(the cancel finishes in the background\\)\\. Flash it again before using it\\.\\n$`));
    } finally {
      writeFileSync(throttle, `${dev.majMin} 0`);
    }
  });

  test('Ctrl-C cancels: exit 130 and the drive is reported incomplete', async () => {
    const dev = device(64 * MiB);
    const big = path.join(dir, 'big.img');
    writeFileSync(big, randomBytes(48 * MiB));
    const throttle = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';
    writeFileSync(throttle, `${dev.majMin} ${8 * MiB}`);
    try {
      const { code, stdout, stderr, sent } = await interruptWhileWriting([BIN, 'flash', big, '--to', dev.path, '--yes', '--json'], { ...process.env, ...LOOP }, (child) =>
        child.kill('SIGINT'),
      );
      assert.ok(sent, 'saw write progress');
      assert.equal(code, 130, stderr);
      const last = JSON.parse(stdout.trim().split('\n').at(-1)!);
      assert.equal(last.error.code, 'CANCELLED');
      assert.equal(last.error.details.driveIncomplete, true);
    } finally {
      writeFileSync(throttle, `${dev.majMin} 0`);
    }
  });
});
