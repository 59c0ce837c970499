// The system-tool decoders: which one runs, and that a child never outlives its reader.

import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import './register';
import { openDecodedFile } from './decoded-file';
import { openDecodedStream } from './decoded-source';
import { chooseTool, findExecutable } from './decoder-choice';
import { GZIP_TRUSTED_RATIO, gzipSizeFromTrailer } from './gzip-source';
import { liveToolPids, toolRunsStarted } from './tool-decoder';

const MiB = 1 << 20;
const hasXz = findExecutable('xz') !== undefined && process.platform !== 'win32';

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe('decoder choice', () => {
  test('measured defaults: tools for xz/zstd/bzip2 when present, zlib for gzip, forced families obeyed', () => {
    const env = { PATH: process.env.PATH ?? '' };
    if (process.platform === 'win32') {
      assert.equal(chooseTool('xz', env), undefined);
      return;
    }
    assert.equal(chooseTool('gzip', env), undefined, 'Node zlib decodes gzip by default');
    assert.equal(chooseTool('xz', { ...env, BLOCKWISE_DECODER: 'builtin' }), undefined);
    assert.equal(chooseTool('xz', { PATH: '/nonexistent' }), undefined, 'no tool on PATH: in-process fallback');
    if (hasXz) assert.deepEqual(chooseTool('xz', env)?.args, ['-dc', '-T0', '-Q']);
    if (findExecutable('pigz')) assert.equal(chooseTool('gzip', { ...env, BLOCKWISE_DECODER: 'system' })?.name, 'pigz');
    assert.equal(chooseTool('zip', { ...env, BLOCKWISE_DECODER: 'system' }), undefined, 'zip is parsed in-process');
  });

  test('gzip trailer: exact for a real file, ignored when it cannot be a trailer', () => {
    assert.equal(gzipSizeFromTrailer(12 * MiB, 3 * MiB), 12 * MiB);
    assert.equal(gzipSizeFromTrailer(100 * MiB, 2_000_000), undefined, 'a 52:1 claim from 2 MB is not believed');
    assert.equal(gzipSizeFromTrailer(GZIP_TRUSTED_RATIO * MiB, MiB), GZIP_TRUSTED_RATIO * MiB);
    assert.equal(gzipSizeFromTrailer(1000, 5 * MiB), undefined, 'wrapped or several members');
  });
});

describe('system tool decoders', { skip: hasXz ? false : 'xz is not installed' }, () => {
  let dir = '';
  let image: Buffer;
  before(() => {
    process.env.BLOCKWISE_DECODER = 'system';
    dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-tool-decoder-'));
    image = Buffer.concat([randomBytes(4 * MiB), Buffer.alloc(4 * MiB, 'text line\n')]);
    writeFileSync(path.join(dir, 'disk.img'), image);
    execSync('xz -T2 -1 -c disk.img > disk.img.xz', { cwd: dir });
  });
  after(() => {
    delete process.env.BLOCKWISE_DECODER;
    rmSync(dir, { recursive: true, force: true });
  });

  test('decodes through xz, counts and hashes the stored bytes in-process', async () => {
    const runs = toolRunsStarted();
    const xzFile = path.join(dir, 'disk.img.xz');
    const reader = await openDecodedStream(createReadStream(xzFile), { name: 'disk.img.xz' });
    const parts: Buffer[] = [];
    const buffer = Buffer.alloc(MiB);
    for (let n; (n = await reader.read(buffer)) > 0; ) parts.push(Buffer.from(buffer.subarray(0, n)));
    await reader.close();
    assert.ok(Buffer.concat(parts).equals(image));
    assert.equal(toolRunsStarted(), runs + 1);
    assert.equal(reader.storedPosition, readFileSync(xzFile).length);
    assert.equal(reader.storedSha256?.(), execSync(`sha256sum ${xzFile}`).toString().split(' ')[0]);
  });

  // A local file (Linux): xz gets the file itself as stdin, and how far it has read is the
  // position of the open file it shares with the decoder (tool-decoder.ts, filePosition).
  test('a local file is read by xz itself: its stdin is the file, the position reached is right, no fd is left open', { skip: process.platform !== 'linux' ? 'Linux only (/proc)' : false }, async () => {
    const xzFile = path.join(dir, 'disk.img.xz');
    const size = readFileSync(xzFile).length;
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const reader = await openDecodedFile(xzFile, size, { kind: 'file', path: xzFile }, undefined, 'xz');
    const buffer = Buffer.alloc(MiB);
    assert.equal(await reader.read(buffer), MiB);
    const pid = liveToolPids()[0]!;
    assert.equal(readlinkSync(`/proc/${pid}/fd/0`), xzFile, "xz's stdin is the image file, not a pipe");
    const parts: Buffer[] = [Buffer.from(buffer)];
    for (let n; (n = await reader.read(buffer)) > 0; ) parts.push(Buffer.from(buffer.subarray(0, n)));
    assert.ok(Buffer.concat(parts).equals(image));
    assert.equal(reader.storedPosition, size, 'the whole file read');
    await reader.close();
    assert.equal(fds(), before, 'the decoder closed the file it shared with xz');
  });

  test('closing a reader half way kills the tool', async () => {
    const reader = await openDecodedStream(createReadStream(path.join(dir, 'disk.img.xz')), { name: 'disk.img.xz' });
    assert.equal(await reader.read(Buffer.alloc(MiB)), MiB);
    const pids = liveToolPids();
    assert.equal(pids.length, 1, 'one xz running while the image is being read');
    await reader.close();
    assert.ok(await gone(pids[0]!), `xz (pid ${pids[0]}) still runs after close`);
  });

  test('the tool runs in a process group of its own (a terminal Ctrl-C reaches Blockwise, which stops it), and a signal from elsewhere is not "damaged data"', async () => {
    const pgrp = (pid: number | 'self') => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[2]);
    const reader = await openDecodedStream(createReadStream(path.join(dir, 'disk.img.xz')), { name: 'disk.img.xz' });
    assert.equal(await reader.read(Buffer.alloc(MiB)), MiB);
    const [pid] = liveToolPids();
    assert.ok(pid !== undefined, 'xz is running');
    assert.notEqual(pgrp(pid), pgrp('self'), 'xz is not in the group a terminal signals');
    assert.equal(pgrp(pid), pid, 'xz leads its own group');
    process.kill(pid, 'SIGTERM');
    const error = await (async () => {
      try {
        for (const buffer = Buffer.alloc(MiB); (await reader.read(buffer)) > 0; );
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    await reader.close();
    assert.ok(error instanceof BlockwiseError, String(error));
    assert.equal(error.code, 'SOURCE_UNREADABLE', error.message);
    assert.match(error.message, /xz, which was decompressing the image, was stopped by SIGTERM from outside Blockwise/);
  });

  test('a failing input (a cut download) is the error reported, and the tool is killed', async () => {
    const data = readFileSync(path.join(dir, 'disk.img.xz'));
    async function* cut(): AsyncIterable<Buffer> {
      yield data.subarray(0, 200_000);
      await new Promise((r) => setTimeout(r, 50));
      throw new BlockwiseError('SOURCE_UNREADABLE', 'the connection was lost at byte 200000');
    }
    const error = await firstError(cut(), 'disk.img.xz');
    assert.ok(error instanceof BlockwiseError && error.code === 'SOURCE_UNREADABLE' && /connection was lost/.test(error.message), String(error));
    assert.ok(await noneLive(), `still running: ${liveToolPids().join(', ')}`);
  });

  test('garbage fed to xz is SOURCE_CORRUPT naming the file, and xz is gone', async () => {
    const bad = Buffer.concat([readFileSync(path.join(dir, 'disk.img.xz')).subarray(0, 12), randomBytes(MiB)]);
    const error = await firstError((async function* () {
      yield bad;
    })(), 'bad.img.xz');
    assert.ok(error instanceof BlockwiseError, `expected an error, got ${String(error)}`);
    assert.equal(error.code, 'SOURCE_CORRUPT', error.message);
    assert.match(error.message, /bad\.img\.xz/);
    assert.ok(await noneLive());
  });
});

/** The error of opening and reading a stream to its end (whichever stage fails), after closing it. */
async function firstError(input: AsyncIterable<Buffer>, name: string): Promise<unknown> {
  let reader: Awaited<ReturnType<typeof openDecodedStream>> | undefined;
  try {
    reader = await openDecodedStream(input, { name });
    const buffer = Buffer.alloc(MiB);
    while ((await reader.read(buffer)) > 0);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await reader?.close();
  }
}

async function noneLive(): Promise<boolean> {
  for (let i = 0; i < 100 && liveToolPids().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return liveToolPids().length === 0;
}
