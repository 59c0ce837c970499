// Privileges on demand, end to end through the browser host: a job whose drives "need elevation"
// (injected) runs in the real helper started through a stand-in pkexec (polkit is not running
// here, so the stand-in does what pkexec does once authorised: runs the program with PKEXEC_UID),
// writing real loop devices; a declined prompt and a cancel during the prompt end the job with a
// flash.error that says nothing was written; drives this process can open use the worker thread.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ContractEvents } from '../../shared/contract';
import { describeError } from '../../shared/errors';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../test-support/loop-device';
import { TestClient } from '../web/test-client';
import { startWebHost, type WebHost } from '../web/web-host';
import { engineLauncher } from './engine-launcher';
import { createHostServices, type HostServices } from './host-services';

const MiB = 1 << 20;

interface Outcome {
  done?: ContractEvents['flash.done'];
  error?: ContractEvents['flash.error'];
}

describe('engine launcher through the browser host', { skip: loopSkipReason() }, () => {
  let dir = '';
  let bin = '';
  let log = '';
  let behaviour = 'run';
  let elevate = true;
  const choices: string[] = [];
  let services: HostServices;
  let host: WebHost;
  let savedPath: string | undefined;

  before(async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-launcher-');
    bin = path.join(dir, 'bin');
    mkdirSync(bin);
    log = path.join(dir, 'pkexec.log');
    // The stand-in reads what to do from a file, so each test picks: run, decline (126), hang.
    writeFileSync(
      path.join(bin, 'pkexec'),
      `#!/bin/sh\necho "$*" >> ${log}\ncase "$(cat ${dir}/behaviour)" in\n` +
        `  decline) exit 126 ;;\n  hang) exec sleep 300 ;;\nesac\nPKEXEC_UID=$(id -u) exec "$@"\n`,
      { mode: 0o755 },
    );
    savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    const rendererDir = path.join(dir, 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Blockwise</title>');
    services = createHostServices({
      configDir: path.join(dir, 'config'),
      needsElevation: async () => elevate,
      engine: engineLauncher({
        needsElevation: async () => elevate,
        elevator: 'pkexec',
        onChoice: (kind, devices) => choices.push(`${kind} ${devices.join(' ')}`),
      }),
    });
    host = await startWebHost({ services, port: 0, rendererDir });
  });

  after(async () => {
    process.env.PATH = savedPath;
    await services?.close();
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(devices: LoopDevice[], image: string, beforeEnd?: (client: TestClient, jobId: string) => Promise<void>): Promise<Outcome> {
    writeFileSync(path.join(dir, 'behaviour'), behaviour);
    const client = await TestClient.connect(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`);
    try {
      const drives = await client.request('drives.list', {});
      const ids = devices.map((dev) => drives.find((d) => d.path === dev.path)?.id ?? 'missing');
      const { jobId } = await client.request('flash.start', { imagePath: image, driveIds: ids });
      await beforeEnd?.(client, jobId);
      return await Promise.race([
        client.waitForEvent('flash.done', (p) => p.jobId === jobId).then((p): Outcome => ({ done: p })),
        client.waitForEvent('flash.error', (p) => p.jobId === jobId).then((p): Outcome => ({ error: p })),
      ]);
    } finally {
      client.close();
    }
  }

  const pkexecCalls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

  it('two drives that need elevation: one helper for both, over stdio, bytes on both', async () => {
    const image = path.join(dir, 'two.img');
    const bytes = randomBytes(6 * MiB);
    writeFileSync(image, bytes);
    const a = createLoopDevice(8 * MiB, { fill: 'garbage' });
    const b = createLoopDevice(8 * MiB, { fill: 'garbage' });
    try {
      behaviour = 'run';
      elevate = true;
      const outcome = await run([a, b], image);
      assert.ok(outcome.done, `flash failed: ${JSON.stringify(outcome.error)}`);
      assert.deepEqual(outcome.done.result.targets.map((t) => [t.path, t.ok, t.verified]), [[a.path, true, true], [b.path, true, true]]);
      assert.ok(readBacking(a, 0, 6 * MiB).equals(bytes) && readBacking(b, 0, 6 * MiB).equals(bytes), 'both devices hold the image');
      const calls = pkexecCalls();
      assert.equal(calls.length, 1, 'one prompt for the whole job');
      assert.match(calls[0]!, new RegExp(`helper/main\\.js --device ${a.path} --device ${b.path} --include-loop --uid 0$`));
      assert.equal(choices.at(-1), `helper ${a.path} ${b.path}`);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('a declined prompt (pkexec exit 126) is a flash.error ELEVATION_DECLINED and nothing is written', async () => {
    const image = path.join(dir, 'declined.img');
    writeFileSync(image, randomBytes(2 * MiB));
    const a = createLoopDevice(4 * MiB);
    try {
      behaviour = 'decline';
      const outcome = await run([a], image);
      assert.equal(outcome.error?.error.code, 'ELEVATION_DECLINED', JSON.stringify(outcome));
      assert.match(describeError(outcome.error.error), new RegExp(`not granted to write ${a.path}\\. Nothing was written`));
      assert.equal(a.bytesWritten(), 0);
      assert.deepEqual(await services.flash.active(), [], 'the job is over');
    } finally {
      a.dispose();
    }
  });

  it('cancel while the prompt is open ends the job at once as CANCELLED, nothing written', async () => {
    const image = path.join(dir, 'hang.img');
    writeFileSync(image, randomBytes(2 * MiB));
    const a = createLoopDevice(4 * MiB);
    try {
      behaviour = 'hang';
      const outcome = await run([a], image, async (client, jobId) => {
        // Wait until the stand-in prompt is really up, then cancel.
        while (!pkexecCalls().some((c) => c.includes(`--device ${a.path}`))) await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(await client.request('flash.cancel', { jobId }), { cancelled: true });
      });
      assert.equal(outcome.error?.error.code, 'CANCELLED', JSON.stringify(outcome));
      assert.match(outcome.error.error.message, /waiting for administrator rights.*Nothing was written/);
      assert.equal(a.bytesWritten(), 0);
    } finally {
      a.dispose();
    }
  });

  it('a backup of a drive this process may not read is refused, saying how, and starts no helper (it would write the file as root)', async () => {
    const a = createLoopDevice(4 * MiB, { fill: 'garbage' });
    const before = pkexecCalls().length;
    const client = await TestClient.connect(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`);
    try {
      behaviour = 'run'; // a helper started would do the backup: it must not be
      elevate = true;
      const drive = (await client.request('drives.list', {})).find((d) => d.path === a.path);
      assert.ok(drive);
      const file = path.join(dir, 'as-root.img.gz');
      await assert.rejects(client.request('drives.backup', { driveId: drive.id, file }), (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'PERMISSION_DENIED');
        assert.match(error.message ?? '', new RegExp(`^Blockwise may not read ${a.path} without administrator rights, and a backup is never made through its administrator helper`));
        assert.match(error.message ?? '', new RegExp(`sudo blockwise backup ${a.path} --to FILE`));
        return true;
      });
      assert.equal(pkexecCalls().length, before, 'no prompt, no helper');
      assert.equal(existsSync(file), false);
    } finally {
      client.close();
      a.dispose();
    }
  });

  it('drives this process can open are written by the worker thread, without a prompt', async () => {
    const image = path.join(dir, 'worker.img');
    const bytes = randomBytes(3 * MiB);
    writeFileSync(image, bytes);
    const a = createLoopDevice(4 * MiB, { fill: 'garbage' });
    const before = pkexecCalls().length;
    try {
      behaviour = 'decline'; // would fail the job if the launcher asked
      elevate = false;
      const outcome = await run([a], image);
      assert.ok(outcome.done, JSON.stringify(outcome.error));
      assert.ok(readBacking(a, 0, 3 * MiB).equals(bytes));
      assert.equal(pkexecCalls().length, before, 'no prompt');
      assert.equal(choices.at(-1), `worker ${a.path}`);
    } finally {
      a.dispose();
    }
  });
});
