// The helper as a real child process, driven over its streams: a flash of a real loop device,
// a refused request for another device, malformed lines, a declined prompt, socket mode.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { after, before, test } from 'node:test';
import { describeError } from '../../shared/errors';
import type { FlashJob, FlashProgress } from '../../shared/flash-types';
import { EngineClient } from '../engine/engine-client';
import type { EngineEvent } from '../engine/protocol';
import { createLoopDevice, fillGarbage, loopSkipReason, readBacking } from '../test-support/loop-device';
import type { HelperProgram } from './elevation';
import { helperTransport } from './helper-transport';
import { blockwiseFailure } from '../test-support/blockwise-failure';

const skip = loopSkipReason();
const MiB = 1 << 20;
const script = path.join(__dirname, 'main.js');
const program: HelperProgram = { executable: process.execPath, script };
let dir = '';

before(() => {
  dir = mkdtempSync('/dev/shm/blockwise-helper-test-');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, size: number): string {
  const file = path.join(dir, name);
  fillGarbage(file, size, 0x1234 + size);
  return file;
}

const job = (source: string, target: string): FlashJob => ({
  source: { kind: 'file', path: source },
  targets: [{ path: target }],
  options: { verify: true, full: true },
});

const rejection = (promise: Promise<unknown>) => blockwiseFailure(promise, 'expected a refusal');

test('the helper flashes its loop device with progress and refuses any other device', { skip }, async () => {
  const loop = createLoopDevice(16 * MiB, { fill: 'garbage' });
  const other = createLoopDevice(8 * MiB);
  const client = new EngineClient(helperTransport({ devices: [loop.path], elevator: 'none', program, includeLoop: true }));
  try {
    const src = image('ok.img', 6 * MiB);
    const progress: FlashProgress[] = [];
    const result = await client.flash(job(src, loop.path), (p) => progress.push(p)).result;
    assert.equal(result.targets[0]?.ok, true);
    assert.equal(result.targets[0]?.verified, true);
    assert.ok(progress.some((p) => p.phase === 'writing'), 'no writing progress');
    assert.equal(progress.at(-1)?.phase, 'done');
    assert.ok(readBacking(loop, 0, 6 * MiB).equals(readFileSync(src)), 'the device does not hold the image');

    const refused = await rejection(client.flash(job(src, other.path)).result);
    assert.equal(refused.code, 'TARGET_NOT_ALLOWED');
    assert.match(refused.message, new RegExp(`started for ${loop.path} only and refuses ${other.path}`));
    assert.ok(readBacking(other, 0, MiB).equals(Buffer.alloc(MiB)), 'the other device was written');

    const both = await rejection(client.flash({ ...job(src, loop.path), targets: [{ path: loop.path }, { path: other.path }] }).result);
    assert.equal(both.code, 'TARGET_NOT_ALLOWED');
    const verifyOther = await rejection(client.verify({ source: { kind: 'file', path: src }, target: { path: other.path } }).result);
    assert.equal(verifyOther.code, 'TARGET_NOT_ALLOWED');
    const verified = await client.verify({ source: { kind: 'file', path: src }, target: { path: loop.path } }).result;
    assert.equal(verified.imageSize, 6 * MiB);

    // The capacity check goes through the same door: its own drive only.
    const checkOther = await rejection(client.check(other.path).result);
    assert.equal(checkOther.code, 'TARGET_NOT_ALLOWED');
    assert.ok(readBacking(other, 0, MiB).equals(Buffer.alloc(MiB)), 'the other device was written by a check');
    const checked = await client.check(loop.path).result;
    assert.equal(checked.verdict, 'genuine');
    assert.ok(readBacking(loop, 0, 6 * MiB).equals(readFileSync(src)), 'the check did not put the drive back');
  } finally {
    await client.close();
    loop.dispose();
    other.dispose();
  }
});

test('malformed lines get an INVALID_REQUEST error each, and the helper keeps serving', async () => {
  const child = spawn(process.execPath, [script, '--device', '/dev/blockwise-none'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const events: EngineEvent[] = [];
  const lines = readline.createInterface({ input: child.stdout });
  const wanted = 6;
  const done = new Promise<void>((resolve) =>
    lines.on('line', (line) => {
      events.push(JSON.parse(line) as EngineEvent);
      if (events.length === wanted) resolve();
    }),
  );
  child.stdin.write('not json at all\n');
  child.stdin.write('[1,2,3]\n');
  child.stdin.write('{"type":"format","id":7}\n');
  child.stdin.write('{"type":"flash","id":8}\n');
  child.stdin.write('{"type":"flash","id":-1,"job":{}}\n');
  child.stdin.write(JSON.stringify({ type: 'flash', id: 9, job: job('/nonexistent.img', '/dev/other') }) + '\n');
  await done;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.end();
  assert.equal(await exited, 0, 'the helper did not exit cleanly when its input ended');
  assert.deepEqual(events.map((e) => [e.type, e.id, e.type === 'error' ? e.error.code : '']), [
    ['error', 0, 'INVALID_REQUEST'],
    ['error', 0, 'INVALID_REQUEST'],
    ['error', 7, 'INVALID_REQUEST'],
    ['error', 8, 'INVALID_REQUEST'],
    ['error', -1, 'INVALID_REQUEST'], // echoed so the sender can match it, though refused
    ['error', 9, 'TARGET_NOT_ALLOWED'],
  ]);
  const third = events[2];
  assert.ok(third?.type === 'error' && /unknown request type "format"/.test(third.error.message));
});

test('a declined prompt (pkexec exit 126) is ELEVATION_DECLINED and nothing is written', { skip }, async () => {
  const loop = createLoopDevice(8 * MiB);
  const bin = mkdtempSync(path.join(dir, 'bin-'));
  // Stands in for pkexec whose polkit agent was dismissed: pkexec's documented exit status 126.
  writeFileSync(path.join(bin, 'pkexec'), '#!/bin/sh\nexit 126\n');
  chmodSync(path.join(bin, 'pkexec'), 0o755);
  const savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath}`;
  try {
    const client = new EngineClient(helperTransport({ devices: [loop.path], elevator: 'pkexec', program, includeLoop: true }));
    const error = await rejection(client.flash(job(image('declined.img', MiB), loop.path)).result);
    assert.equal(error.code, 'ELEVATION_DECLINED');
    assert.match(describeError(error.toJSON()), /not granted to write \S+\. Nothing was written/);
    assert.ok(readBacking(loop, 0, MiB).equals(Buffer.alloc(MiB)));
    await client.close();
  } finally {
    process.env.PATH = savedPath;
    loop.dispose();
  }
});

test('socket mode (--connect, for macOS/Windows elevation) carries the same protocol', async () => {
  const sock = path.join(mkdtempSync(path.join(dir, 'sock-')), 'engine.sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const connected = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const child = spawn(process.execPath, [script, '--device', '/dev/blockwise-none', '--connect', sock], { stdio: 'inherit' });
  const connection = await connected;
  const line = new Promise<string>((resolve) => readline.createInterface({ input: connection }).once('line', resolve));
  connection.write(JSON.stringify({ type: 'verify', id: 3, job: { source: { kind: 'file', path: '/x.img' }, target: { path: '/dev/sdz' } } }) + '\n');
  const event = JSON.parse(await line) as EngineEvent;
  assert.ok(event.type === 'error' && event.id === 3 && event.error.code === 'TARGET_NOT_ALLOWED', JSON.stringify(event));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  connection.end();
  assert.equal(await exited, 0);
  server.close();
});

test('the helper refuses to start without a device', async () => {
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 2);
  assert.match(stderr, /--device PATH is required/);
});
