// `blockwise check DEVICE`, the real command: a genuine drive passes (exit 0) with its data intact,
// a counterfeit that wraps is named with the size it really stores (exit 1), and what is no drive
// is refused before anything is opened.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { describeCapacityCheck } from '../../shared/capacity-words';
import { cli } from '../test-support/cli-process';
import { createFaultyDrive, fuseSkipReason } from '../test-support/fuse-faults';
import { createLoopDevice, fillGarbage, loopSkipReason } from '../test-support/loop-device';

const MiB = 1024 * 1024;
const loopSkip = loopSkipReason();
const fuseSkip = loopSkip ?? fuseSkipReason();
if (loopSkip) console.log(`# skipping blockwise check on drives: ${loopSkip}`);
else if (fuseSkip) console.log(`# skipping blockwise check on a counterfeit drive: ${fuseSkip}`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('check refuses what is no drive, and a missing argument, naming what to do', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'blockwise-check-cli-'));
  try {
    const file = path.join(dir, 'card.img');
    writeFileSync(file, Buffer.alloc(MiB, 7));
    const notDrive = cli(['check', file]);
    assert.equal(notDrive.code, 1, notDrive.stderr);
    assert.match(notDrive.stderr, /card\.img is not a drive: only a drive's capacity can be checked\. Run "blockwise list" to see the drives\./);
    assert.ok(readFileSync(file).equals(Buffer.alloc(MiB, 7)), 'the file is untouched');
    const missing = cli(['check', '/dev/blockwise-no-such-drive']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist: no drive is connected under that name/);
    const none = cli(['check']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /check takes exactly one DEVICE/);
    const typo = cli(['check', '/dev/x', '--jsn']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown option --jsn for check \(did you mean --json\?\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the words for a drive that loses writes, one that fails at its start, and one whose data could not all be put back', () => {
  const base = { path: '/dev/sdz', claimed: 64e9, step: 512 * MiB, probes: 140, restored: true, durationMs: 900 } as const;
  const loses = describeCapacityCheck({ ...base, verdict: 'loses', keeps: 7_516_192_768, firstBad: 7_517_241_344, failure: 'write-failed' });
  assert.equal(loses.ok, false);
  assert.equal(loses.headline, '/dev/sdz keeps data only up to about 7.5 GB (7,516,192,768 bytes) of the 64.0 GB it claims: it is counterfeit or failing.');
  assert.match(loses.detail, /^From about byte 7517241344 on, writes fail\. Files and images larger than 7\.5 GB would be damaged\./);
  const dead = describeCapacityCheck({ ...base, verdict: 'loses', keeps: 0, firstBad: 0, failure: 'dropped', restored: false });
  assert.match(dead.headline, /did not keep a test block written at its very start: it is failing\./);
  assert.match(dead.detail, /what is written is not kept .* Some of its own data could not be put back/);
});

describe('blockwise check on loop devices', { skip: loopSkip }, () => {
  test('a genuine drive: exit 0, "no sign of fake capacity", and its data unchanged; --json ends in done', () => {
    const drive = createLoopDevice(80 * MiB, { fill: 'garbage' });
    try {
      const before = sha(readFileSync(drive.backingFile));
      const r = cli(['check', drive.path]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`OK: ${drive.path} kept what was written across all of its 83\\.9 MB: no sign of fake capacity\\.`));
      assert.match(r.stderr, /Its own data was put back\./);
      assert.equal(sha(readFileSync(drive.backingFile)), before);
      const json = cli(['check', drive.path, '--json']);
      assert.equal(json.code, 0, json.stderr);
      const last = JSON.parse(json.stdout.trim().split('\n').at(-1)!);
      assert.equal(last.type, 'done');
      assert.equal(last.ok, true);
      assert.equal(last.result.verdict, 'genuine');
      assert.equal(last.result.keeps, 80 * MiB);
    } finally {
      drive.dispose();
    }
  });

  test("a partition is refused in a check's words, naming the drive to check; a drive too small to check is said to be, without a flash's advice", () => {
    const drive = createLoopDevice(8 * MiB, { fill: 'garbage', partscan: true });
    const tiny = createLoopDevice(4096, { fill: 'garbage' });
    try {
      execFileSync('sfdisk', ['-q', drive.path], { input: 'label: dos\nstart=2048, type=83\n' });
      execFileSync('partx', ['-u', drive.path], { stdio: 'ignore' });
      const partition = `${drive.path}p1`;
      for (let i = 0; i < 50 && !existsSync(partition); i++) execFileSync('sleep', ['0.1']);
      const before = sha(readFileSync(drive.backingFile));
      const r = cli(['check', partition]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`Error: ${partition} is a partition of ${drive.path}: a check tests a whole drive\\. Check that one: blockwise check ${drive.path} \\(its data is put back\\)\\.\\n$`));
      assert.doesNotMatch(r.stderr, /--to|erased/);
      assert.equal(sha(readFileSync(drive.backingFile)), before);
      const small = cli(['check', tiny.path]);
      assert.equal(small.code, 1, small.stderr);
      assert.match(small.stderr, new RegExp(`Error: ${tiny.path} holds only 4096 bytes: too small to check \\(a check needs two blocks of 4096 bytes\\)\\. Nothing was written to it\\.\\n$`));
    } finally {
      tiny.dispose();
      drive.dispose();
    }
  });

  test('a read-only drive is refused as write-protected, without first saying test blocks are being written to it', () => {
    const drive = createLoopDevice(8 * MiB, { fill: 'garbage', readOnly: true });
    try {
      const before = sha(readFileSync(drive.backingFile));
      const r = cli(['check', drive.path]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^\\nError: ${drive.path} is read-only \\(write-protected\\)\\.`));
      assert.doesNotMatch(r.stderr, /Checking|writing test blocks/);
      assert.equal(sha(readFileSync(drive.backingFile)), before);
    } finally {
      drive.dispose();
    }
  });

  test('a counterfeit card that wraps: exit 1, named counterfeit with the size it really stores', { skip: fuseSkip }, async () => {
    const drive = await createFaultyDrive({ size: 512 * MiB, wrap: 128 * MiB });
    try {
      fillGarbage(drive.store, 128 * MiB);
      const before = sha(readFileSync(drive.store));
      const r = cli(['check', drive.path]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`Problem: ${drive.path} is counterfeit: it claims 537 MB but stores only 134 MB \\(134,217,728 bytes\\)\\.`));
      assert.match(r.stderr, /Data written from byte 134217728 on lands at the start of the drive instead/);
      assert.equal(sha(readFileSync(drive.store)), before, "the card's own data is back");
    } finally {
      drive.dispose();
    }
  });
});
