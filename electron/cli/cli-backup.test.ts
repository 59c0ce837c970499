// `blockwise backup DEVICE --to FILE`, the real command on loop devices: each compression makes a
// file that decompresses to the drive byte for byte, with NAME.sha256 beside it that a restore
// checks by itself; a mounted drive, an existing file, a name that is no image, a drive that fails
// to read are refused or fail naming what and where, and never leave a file that looks saved.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli } from '../test-support/cli-process';
import { createFaultyDrive, fuseSkipReason } from '../test-support/fuse-faults';
import { createLoopDevice, loopSkipReason, type LoopDevice } from '../test-support/loop-device';

const MiB = 1024 * 1024;
const loopSkip = loopSkipReason();
if (loopSkip) console.log(`# skipping blockwise backup on drives: ${loopSkip}`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const DECOMPRESS: Record<string, string[]> = { '.gz': ['gzip', '-dc'], '.zst': ['zstd', '-dcq'], '.xz': ['xz', '-dc'] };

let dir = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'blockwise-backup-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('backup refuses a name that says no image, a missing --to, and what is no drive', () => {
  const bad = cli(['backup', '/dev/null', '--to', path.join(dir, 'card.zip')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /card\.zip: Blockwise saves backups as NAME\.img \(as it is\), NAME\.img\.gz, NAME\.img\.zst or NAME\.img\.xz \(compressed\), not as \.zip\./);
  const unnamed = cli(['backup', '/dev/null', '--to', path.join(dir, 'card')]);
  assert.equal(unnamed.code, 2);
  assert.match(unnamed.stderr, /name the backup NAME\.img/);
  const noTo = cli(['backup', '/dev/null']);
  assert.equal(noTo.code, 2);
  assert.match(noTo.stderr, /backup needs a file to save to: --to FILE/);
  const file = path.join(dir, 'plain.bin');
  writeFileSync(file, 'x');
  const notDrive = cli(['backup', file, '--to', path.join(dir, 'copy.img')]);
  assert.equal(notDrive.code, 1);
  assert.match(notDrive.stderr, /plain\.bin is not a drive: only a drive can be backed up/);
  assert.equal(existsSync(path.join(dir, 'copy.img')), false);
});

test('backup --to an existing folder: said to be a folder, with a file in it to give', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'blockwise-backup-folder-'));
  try {
    const r = cli(['backup', '/dev/sdz', '--to', folder]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--to ${folder} is a folder: give the backup's file in it, e\\.g\\. --to ${folder}/sdz\\.img\\.zst`));
    assert.deepEqual(readdirSync(folder), []);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('flash --to a file named like a compressed file is refused, pointing to backup', () => {
  const image = path.join(dir, 'small.img');
  writeFileSync(image, Buffer.alloc(64 * 1024, 1));
  const out = path.join(dir, 'copy.img.gz');
  const r = cli(['flash', image, '--to', out, '--yes']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /copy\.img\.gz: a flash writes the image as it is, so this file would hold an uncompressed image under a compressed name\. Name it NAME\.img; to save a drive as a compressed image, use: blockwise backup DEVICE --to /);
  assert.equal(existsSync(out), false);
});

describe('blockwise backup on loop devices', { skip: loopSkip }, () => {
  let drive: LoopDevice;
  let content: Buffer;
  before(() => {
    drive = createLoopDevice(24 * MiB, { fill: 'garbage' });
    content = readFileSync(drive.backingFile);
  });
  after(() => drive.dispose());

  for (const name of ['card.img', 'card.img.gz', 'card.img.zst', 'card.img.xz']) {
    test(`${name}: saved, checked, decompresses to the drive byte for byte, with its SHA-256 beside it`, () => {
      const out = path.join(dir, name);
      const r = cli(['backup', drive.path, '--to', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stderr.startsWith(`Copying ${drive.path} into ${out}: the drive is only read.\n`), r.stderr);
      assert.match(r.stderr, new RegExp(`Saved ${out.replace(/[.]/g, '\\.')}: 25\\.2 MB from ${drive.path}`));
      assert.match(r.stderr, /Checked: the file decompresses to exactly what was read from the drive\./);
      const ext = path.extname(name);
      const saved = DECOMPRESS[ext] ? execFileSync(DECOMPRESS[ext]![0]!, [...DECOMPRESS[ext]!.slice(1), out], { maxBuffer: 64 * MiB }) : readFileSync(out);
      assert.ok(saved.equals(content), 'the backup holds the drive');
      assert.equal(readFileSync(`${out}.sha256`, 'utf8'), `${sha(content)}  card.img\n`);
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.partial')), []);
    });
  }

  test('a backup restores with blockwise flash, which checks it against the SHA-256 saved beside it', () => {
    const target = createLoopDevice(24 * MiB);
    try {
      const r = cli(['flash', path.join(dir, 'card.img.zst'), '--to', target.path, '--yes']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Checksum: matches the SHA-256 published in .*card\.img\.zst\.sha256/);
      assert.ok(readFileSync(target.backingFile).equals(content));
    } finally {
      target.dispose();
    }
  });

  test('a path with spaces, an apostrophe and accents: the "Restore it with" line is quoted, and restores when pasted into a shell', () => {
    const folder = path.join(dir, 'Sicherung für Karten');
    mkdirSync(folder);
    const out = path.join(folder, "Anna's card.img.zst");
    const target = createLoopDevice(24 * MiB);
    try {
      const r = cli(['backup', drive.path, '--to', out]);
      assert.equal(r.code, 0, r.stderr);
      const line = r.stderr.split('\n').find((l) => l.startsWith('Restore it with: '));
      assert.equal(line, `Restore it with: blockwise flash '${folder}/Anna'\\''s card.img.zst' --to DEVICE`);
      const command = line!.slice('Restore it with: blockwise '.length).replace('DEVICE', target.path);
      execFileSync('bash', ['-c', `"$0" "$1" ${command} --yes`, process.execPath, path.resolve(__dirname, '../../../bin/blockwise.js')], {
        env: { ...process.env, BLOCKWISE_INCLUDE_LOOP: '1' },
        stdio: 'ignore',
        timeout: 120_000,
      });
      assert.ok(readFileSync(target.backingFile).equals(content), 'the pasted command restored the drive');
    } finally {
      target.dispose();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a .sha256 left from an earlier backup of that name (its file removed) is replaced: the new backup restores', () => {
    const out = path.join(dir, 'again.img.zst');
    writeFileSync(`${out}.sha256`, `${'ab'.repeat(32)}  again.img\n`);
    const target = createLoopDevice(24 * MiB);
    try {
      const r = cli(['backup', drive.path, '--to', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`SHA-256 of the image: ${sha(content)} \\(also in again\\.img\\.zst\\.sha256\\)\\.`));
      assert.equal(readFileSync(`${out}.sha256`, 'utf8'), `${sha(content)}  again.img\n`);
      const restore = cli(['flash', out, '--to', target.path, '--yes']);
      assert.equal(restore.code, 0, restore.stderr);
      assert.ok(readFileSync(target.backingFile).equals(content));
    } finally {
      target.dispose();
    }
  });

  test('an existing file is never overwritten, and --json ends in done with the result', () => {
    const out = path.join(dir, 'card.img.gz');
    const before = sha(readFileSync(out));
    const again = cli(['backup', drive.path, '--to', out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /card\.img\.gz already exists; Blockwise does not overwrite it\. Remove it, or give the backup another name\./);
    assert.equal(sha(readFileSync(out)), before);
    const json = cli(['backup', drive.path, '--to', path.join(dir, 'json.img.gz'), '--json']);
    assert.equal(json.code, 0, json.stderr);
    const last = JSON.parse(json.stdout.trim().split('\n').at(-1)!);
    assert.equal(last.type, 'done');
    assert.equal(last.result.sha256, sha(content));
    assert.equal(last.result.compression, 'gzip');
    assert.equal(last.result.verified, true);
  });

  test('a drive another program holds open: backup and check name it and its pid, not "mounted or opened by another program"', () => {
    const held = createLoopDevice(8 * MiB);
    // A partition editor, or another Blockwise run: it has the drive open exclusively.
    const holder = spawn('/usr/bin/python3', ['-c', `import os, sys, time\nos.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)\nprint('open', flush=True)\ntime.sleep(60)`, held.path], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      execFileSync('sh', ['-c', `for i in $(seq 100); do ls -l /proc/${holder.pid}/fd 2>/dev/null | grep -q ${held.path} && exit 0; sleep 0.05; done; exit 1`]);
      const backup = cli(['backup', held.path, '--to', path.join(dir, 'held.img')]);
      assert.equal(backup.code, 1, backup.stderr);
      assert.match(backup.stderr, new RegExp(`${held.path} is in use: open in python3 \\(pid ${holder.pid}\\)\\. Unmount it or close that first`));
      const check = cli(['check', held.path]);
      assert.equal(check.code, 1, check.stderr);
      assert.match(check.stderr, new RegExp(`${held.path} is in use: open in python3 \\(pid ${holder.pid}\\)`));
      assert.equal(held.bytesWritten(), 0);
    } finally {
      holder.kill('SIGKILL');
      held.dispose();
    }
  });

  test('a drive with a mounted partition is refused: the copy would not be consistent', () => {
    const mounted = createLoopDevice(40 * MiB);
    const mountpoint = path.join(dir, 'mnt');
    mkdirSync(mountpoint);
    try {
      execFileSync('mkfs.ext4', ['-q', '-F', mounted.path], { stdio: 'ignore' });
      execFileSync('mount', [mounted.path, mountpoint]);
      const r = cli(['backup', mounted.path, '--to', path.join(dir, 'mounted.img.gz')]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${mounted.path} is in use: mounted at ${mountpoint} \\(${mounted.path}\\)\\. Unmount it or close that first, so that the backup is a consistent copy\\.`));
      assert.equal(existsSync(path.join(dir, 'mounted.img.gz')), false);
      assert.equal(existsSync(path.join(dir, 'mounted.img.gz.partial')), false);
    } finally {
      execFileSync('umount', [mountpoint], { stdio: 'ignore' });
      mounted.dispose();
    }
  });

  test('a drive that fails to read midway: READ_IO_ERROR naming the byte, and nothing saved', { skip: fuseSkipReason() }, async () => {
    const failing = await createFaultyDrive({ size: 32 * MiB, eioRead: [[20 * MiB, 20 * MiB + 4096]] });
    try {
      const out = path.join(dir, 'failing.img.gz');
      const r = cli(['backup', failing.path, '--to', out]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`Reading ${failing.path} failed at byte 2\\d{7}: .*The drive may be failing; nothing was saved\\.`));
      assert.equal(existsSync(out), false);
      assert.equal(existsSync(`${out}.partial`), false);
      assert.equal(existsSync(`${out}.sha256`), false);
    } finally {
      failing.dispose();
    }
  });
});
