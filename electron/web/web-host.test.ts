// The browser host over real sockets: the door (token, origin, host), request validation, drive
// ids, and a real flash of a loop device through the WebSocket.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import WebSocket from 'ws';
import { createHostServices, type HostServices } from '../host/host-services';
import { createFaultyDrive, fuseSkipReason } from '../test-support/fuse-faults';
import { createLoopDevice, loopSkipReason, readBacking } from '../test-support/loop-device';
import { TestClient } from './test-client';
import { startWebHost, type WebHost } from './web-host';

function httpGet(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

/** The HTTP status a WebSocket handshake gets, or 101 when it opens. */
function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
}

describe('browser host', () => {
  let dir: string;
  let services: HostServices;
  let host: WebHost;
  let wsUrl: string;

  before(async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-web-'));
    const rendererDir = path.join(dir, 'renderer');
    require('node:fs').mkdirSync(rendererDir);
    writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Blockwise</title><script src="app.js"></script>');
    writeFileSync(path.join(rendererDir, 'app.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'secret.txt'), 'not for the web');
    services = createHostServices({ configDir: path.join(dir, 'config'), browseStart: dir });
    host = await startWebHost({ services, port: 0, rendererDir });
    wsUrl = `ws://127.0.0.1:${host.port}/ws?token=${host.token}`;
  });

  after(async () => {
    await services.close();
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the renderer with a strict CSP, and nothing outside it', async () => {
    assert.match(host.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    const page = await httpGet(host.port, '/?token=x');
    assert.equal(page.status, 200);
    assert.match(page.body, /<title>Blockwise<\/title>/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    assert.equal((await httpGet(host.port, '/app.js')).headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await httpGet(host.port, '/../secret.txt')).status, 404);
    assert.equal((await httpGet(host.port, '/%2e%2e/secret.txt')).status, 404);
    assert.equal((await httpGet(host.port, '/missing.js')).status, 404);
    // DNS rebinding: a foreign name resolving to 127.0.0.1 is refused.
    assert.equal((await httpGet(host.port, '/', { Host: 'evil.example:80' })).status, 403);
  });

  it('refuses sockets without the right token or from another origin', async () => {
    const base = `ws://127.0.0.1:${host.port}/ws`;
    assert.equal(await handshakeStatus(base), 401);
    assert.equal(await handshakeStatus(`${base}?token=wrong`), 401);
    // One character off (never the same character: a token ending in 'x' made this test pass the real one).
    const offByOne = host.token.slice(0, -1) + (host.token.endsWith('x') ? 'y' : 'x');
    assert.equal(await handshakeStatus(`${base}?token=${offByOne}`), 401);
    assert.equal(await handshakeStatus(wsUrl, { Origin: 'http://evil.example' }), 403);
    assert.equal(await handshakeStatus(wsUrl, { Origin: `http://127.0.0.1:${host.port + 1}` }), 403);
    assert.equal(await handshakeStatus(`ws://127.0.0.1:${host.port}/other?token=${host.token}`), 403);
    assert.equal(await handshakeStatus(wsUrl, { Origin: `http://127.0.0.1:${host.port}` }), 101);
    assert.equal(await handshakeStatus(wsUrl), 101);
  });

  it('tells a page over HTTP whether the socket would take its token (a browser is not told why a socket was refused)', async () => {
    assert.equal((await httpGet(host.port, '/ws?token=old-token-from-before-a-restart')).status, 401);
    assert.equal((await httpGet(host.port, '/ws')).status, 401);
    assert.equal((await httpGet(host.port, `/ws?token=${host.token}`)).status, 426);
    assert.equal((await httpGet(host.port, `/ws?token=${host.token}`, { Host: 'evil.example:80' })).status, 403);
  });

  it('answers malformed requests with INVALID_REQUEST and stays up', async () => {
    const client = await TestClient.connect(wsUrl);
    try {
      await assert.rejects(client.raw('not json', -1), { code: 'INVALID_REQUEST' });
      await assert.rejects(client.raw({ t: 'req', id: 1, name: 'drives.format', args: {} }), { code: 'INVALID_REQUEST', message: /Unknown request/ });
      await assert.rejects(client.raw({ t: 'req', id: 2, name: 'flash.start', args: { imagePath: 42, driveIds: [] } }), {
        code: 'INVALID_REQUEST',
        message: /flash\.start at imagePath/,
      });
      await assert.rejects(client.raw({ t: 'req', id: 3, name: 'flash.start', args: { imagePath: '/x.img', driveIds: ['a'], devicePath: '/dev/sda' } }), {
        code: 'INVALID_REQUEST',
      });
      await assert.rejects(client.raw({ t: 'req', id: 4, name: 'settings.set', args: { verify: 'yes' } }), { code: 'INVALID_REQUEST' });
      await assert.rejects(client.raw({ t: 'res', id: 5 }), { code: 'INVALID_REQUEST' });
      // Still serving, on the same socket.
      const info = await client.request('app.info', {});
      assert.equal(info.host, 'web');
      assert.equal(info.nativeDialog, false);
      await assert.rejects(client.request('image.pick', {}), { code: 'INVALID_REQUEST', message: /image\.browse/ });
    } finally {
      client.close();
    }
  });

  it('keeps settings in a JSON file and lists folders', async () => {
    const client = await TestClient.connect(wsUrl);
    try {
      assert.equal((await client.request('settings.get', {})).verify, true);
      const saved = await client.request('settings.set', { fullWrite: true });
      assert.equal(saved.fullWrite, true);
      assert.equal(saved.verify, true);
      assert.equal(JSON.parse(require('node:fs').readFileSync(path.join(dir, 'config', 'settings.json'), 'utf8')).fullWrite, true);
      await client.request('settings.set', { fullWrite: false });
      const listing = await client.request('image.browse', {});
      assert.equal(listing.dir, dir);
      assert.deepEqual(listing.entries.map((e) => `${e.kind}:${e.name}`), ['dir:config', 'dir:renderer', 'file:secret.txt']);
      await assert.rejects(client.request('image.browse', { dir: path.join(dir, 'nope') }), { code: 'SOURCE_UNREADABLE' });
    } finally {
      client.close();
    }
  });

  it('refuses a drive id that is not in the latest scan', async () => {
    const client = await TestClient.connect(wsUrl);
    const image = path.join(dir, 'tiny.img');
    writeFileSync(image, randomBytes(64 * 1024));
    try {
      await client.request('drives.list', {});
      await assert.rejects(client.request('flash.start', { imagePath: image, driveIds: ['/dev/vda'] }), { code: 'TARGET_NOT_FOUND' });
      await assert.rejects(client.request('flash.start', { imagePath: image, driveIds: ['made-up-id'] }), { code: 'TARGET_NOT_FOUND' });
      assert.deepEqual(await client.request('flash.jobs', {}), []);
    } finally {
      client.close();
    }
  });

  it('flashes a loop device through the socket, with progress and the right bytes', { skip: loopSkipReason() }, async () => {
    const imageSize = 6 * 1024 * 1024 + 4096;
    const image = path.join(dir, 'flash-me.img');
    const bytes = randomBytes(imageSize);
    writeFileSync(image, bytes);
    const device = createLoopDevice(16 * 1024 * 1024, { fill: 'garbage' });
    const client = await TestClient.connect(wsUrl);
    try {
      const drives = await client.request('drives.list', {});
      const drive = drives.find((d) => d.path === device.path);
      assert.ok(drive, `${device.path} should be listed with BLOCKWISE_INCLUDE_LOOP=1`);
      assert.notEqual(drive.id, drive.path, 'ids are not paths');
      const { jobId } = await client.request('flash.start', { imagePath: image, driveIds: [drive.id] });
      // A second job on the same drive is refused while the first runs.
      await assert.rejects(client.request('flash.start', { imagePath: image, driveIds: [drive.id] }), { code: 'TARGET_BUSY' });
      const outcome = await Promise.race([
        client.waitForEvent('flash.done', (p) => p.jobId === jobId).then((p) => ({ done: p })),
        client.waitForEvent('flash.error', (p) => p.jobId === jobId).then((p) => ({ error: p })),
      ]);
      assert.ok('done' in outcome, `flash failed: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.done.result.imageSize, imageSize);
      assert.equal(outcome.done.result.targets[0]?.ok, true);
      assert.equal(outcome.done.result.targets[0]?.verified, true);
      const progress = client.events.filter((e) => e.name === 'flash.progress').map((e) => e.payload as { jobId: string; progress: { phase: string } });
      assert.ok(progress.length > 0, 'progress events arrived');
      assert.ok(progress.every((p) => p.jobId === jobId));
      assert.ok(progress.some((p) => p.progress.phase === 'writing'));
      assert.ok(readBacking(device, 0, imageSize).equals(bytes), 'the device holds the image');
      // Ended, it stays listed with its outcome, for a tab whose connection dropped meanwhile.
      const [ended, ...more] = await client.request('flash.jobs', {});
      assert.equal(more.length, 0);
      assert.equal(ended?.jobId, jobId);
      assert.equal(ended?.imageName, 'flash-me.img');
      assert.equal(ended?.download, false);
      assert.deepEqual(ended?.drives.map((d) => d.path), [device.path]);
      assert.ok(ended?.outcome && 'result' in ended.outcome && ended.outcome.result.targets[0]?.ok === true, JSON.stringify(ended?.outcome));
    } finally {
      client.close();
      device.dispose();
    }
  });

  it('checks a loop drive for fake capacity through the socket: the drive is busy meanwhile, and its data is back after', { skip: loopSkipReason() }, async () => {
    const device = createLoopDevice(48 * 1024 * 1024, { fill: 'garbage' });
    const client = await TestClient.connect(wsUrl);
    const image = path.join(dir, 'while-checking.img');
    writeFileSync(image, randomBytes(64 * 1024));
    try {
      const before = readBacking(device, 0, device.size);
      const drive = (await client.request('drives.list', {})).find((d) => d.path === device.path);
      assert.ok(drive);
      const checking = client.request('drives.check', { driveId: drive.id });
      // A flash of the drive under check is refused while it runs (its data is not back yet).
      await assert.rejects(client.request('flash.start', { imagePath: image, driveIds: [drive.id] }), (error: { code?: string; message?: string; details?: Record<string, unknown> }) => {
        assert.equal(error.code, 'TARGET_BUSY');
        assert.equal(error.message, `${device.path} is being checked for fake capacity.`);
        assert.equal(error.details?.busyWith, 'check', 'the app advises waiting, not unmounting');
        return true;
      });
      const result = await checking;
      assert.equal(result.verdict, 'genuine');
      assert.equal(result.path, device.path);
      // Every tab hears how far it got, as percentages that only grow.
      const percents = client.events.filter((e) => e.name === 'drives.checkProgress').map((e) => e.payload as { driveId: string; percent: number });
      assert.ok(percents.length > 1, `progress events: ${percents.length}`);
      assert.ok(percents.every((p, i) => p.driveId === drive.id && (i === 0 || p.percent > percents[i - 1]!.percent)), JSON.stringify(percents));
      assert.equal(result.claimed, 48 * 1024 * 1024);
      assert.ok(device.bytesWritten() > 0, 'test blocks were written');
      assert.ok(readBacking(device, 0, device.size).equals(before), "the drive's data is back");
      await assert.rejects(client.request('drives.check', { driveId: 'made-up-id' }), { code: 'TARGET_NOT_FOUND' });
      await assert.rejects(client.request('drives.check', { driveId: drive.id, extra: 1 } as never), { code: 'INVALID_REQUEST' });
    } finally {
      client.close();
      device.dispose();
    }
  });

  it('cancels a check through the socket: the drive is left as it was and free again; with no check running there is nothing to cancel', { skip: loopSkipReason() }, async () => {
    const device = createLoopDevice(48 * 1024 * 1024, { fill: 'garbage' });
    const client = await TestClient.connect(wsUrl);
    try {
      const before = readBacking(device, 0, device.size);
      const drive = (await client.request('drives.list', {})).find((d) => d.path === device.path);
      assert.ok(drive);
      assert.deepEqual(await client.request('drives.checkCancel', { driveId: drive.id }), { cancelled: false });
      const checking = client.request('drives.check', { driveId: drive.id });
      checking.catch(() => undefined);
      assert.deepEqual(await client.request('drives.checkCancel', { driveId: drive.id }), { cancelled: true });
      // Whether the cancel came before the engine had started or during the check, the words say
      // it was cancelled and what became of the drive's data.
      await assert.rejects(checking, (error: { code?: string; message?: string; details?: Record<string, unknown> }) => {
        assert.equal(error.code, 'CANCELLED');
        assert.match(error.message ?? '', new RegExp(`^The check of ${device.path} was cancelled.* (nothing was written to it|Nothing had been written to it yet|Its own data was put back)\\.$`));
        assert.equal(error.details?.driveIncomplete, false);
        return true;
      });
      assert.ok(readBacking(device, 0, device.size).equals(before), "the drive's data is as it was");
      // The drive is free again: a new check runs to its end.
      assert.equal((await client.request('drives.check', { driveId: drive.id })).verdict, 'genuine');
      await assert.rejects(client.request('drives.checkCancel', { driveId: drive.id, extra: 1 } as never), { code: 'INVALID_REQUEST' });
    } finally {
      client.close();
      device.dispose();
    }
  });

  it('backs a loop drive up to a file through the socket: a name suggested, the drive busy meanwhile, the file checked and its SHA-256 beside it', { skip: loopSkipReason() }, async () => {
    const device = createLoopDevice(24 * 1024 * 1024, { fill: 'garbage' });
    const client = await TestClient.connect(wsUrl);
    const image = path.join(dir, 'while-backing-up.img');
    writeFileSync(image, randomBytes(64 * 1024));
    try {
      const drive = (await client.request('drives.list', {})).find((d) => d.path === device.path);
      assert.ok(drive);
      const suggested = (await client.request('drives.backupName', { driveId: drive.id })).file;
      assert.ok(path.isAbsolute(suggested) && /-\d{4}-\d{2}-\d{2}(-\d+)?\.img\.zst$/.test(suggested), suggested);
      assert.ok(!existsSync(suggested), 'the suggested file does not exist yet');
      assert.deepEqual(await client.request('drives.backupCancel', { driveId: drive.id }), { cancelled: false });
      await assert.rejects(client.request('drives.backup', { driveId: drive.id, file: 'relative.img.gz' }), { code: 'TARGET_NOT_ALLOWED', message: /give the whole path/ });

      const file = path.join(dir, 'card.img.gz');
      const backingUp = client.request('drives.backup', { driveId: drive.id, file });
      await assert.rejects(client.request('flash.start', { imagePath: image, driveIds: [drive.id] }), (error: { code?: string; message?: string; details?: Record<string, unknown> }) => {
        assert.equal(error.code, 'TARGET_BUSY');
        assert.equal(error.message, `${device.path} is being backed up to a file.`);
        assert.equal(error.details?.busyWith, 'backup');
        return true;
      });
      const result = await backingUp;
      assert.equal(result.output, file);
      assert.equal(result.verified, true);
      const content = readBacking(device, 0, device.size);
      assert.ok(gunzipSync(readFileSync(file)).equals(content), 'the file holds the drive');
      assert.equal(result.sha256, createHash('sha256').update(content).digest('hex'));
      assert.match(readFileSync(`${file}.sha256`, 'utf8'), new RegExp(`^${result.sha256}  card\\.img\\n$`));
      const phases = client.events.filter((e) => e.name === 'drives.backupProgress').map((e) => (e.payload as { phase: string }).phase);
      assert.ok(phases.includes('reading') && phases.at(-1) === 'checking', JSON.stringify(phases));
      // An existing file is never overwritten.
      await assert.rejects(client.request('drives.backup', { driveId: drive.id, file }), { code: 'TARGET_NOT_ALLOWED', message: /already exists; Blockwise does not overwrite it/ });
      // ~/ is the home folder, as in a shell.
      const home = process.env.HOME;
      process.env.HOME = dir;
      try {
        assert.equal((await client.request('drives.backup', { driveId: drive.id, file: '~/from-home.img' })).output, path.join(dir, 'from-home.img'));
        assert.ok(readFileSync(path.join(dir, 'from-home.img')).equals(content));
      } finally {
        process.env.HOME = home;
      }
    } finally {
      client.close();
      device.dispose();
    }
  });

  it('a drive its check found counterfeit takes no image larger than it really stores', { skip: loopSkipReason() ?? fuseSkipReason() }, async () => {
    const fake = await createFaultyDrive({ size: 128 * 1024 * 1024, wrap: 32 * 1024 * 1024 });
    const client = await TestClient.connect(wsUrl);
    const image = path.join(dir, 'forty.img');
    writeFileSync(image, randomBytes(40 * 1024 * 1024));
    try {
      const drive = (await client.request('drives.list', {})).find((d) => d.path === fake.path);
      assert.ok(drive);
      const found = await client.request('drives.check', { driveId: drive.id });
      assert.equal(found.verdict, 'wraps');
      assert.equal(found.keeps, 32 * 1024 * 1024);
      await assert.rejects(client.request('flash.start', { imagePath: image, driveIds: [drive.id] }), {
        code: 'IMAGE_TOO_LARGE',
        message: /stores only 33\.6 MB of the 134 MB it claims \(its capacity check found it counterfeit or failing\): the image needs 41\.9 MB and would be damaged\. Nothing was written\./,
      });
      assert.equal((await client.request('flash.jobs', {})).filter((j) => j.driveIds.includes(drive.id)).length, 0, 'no job was started');
    } finally {
      client.close();
      fake.dispose();
    }
  });

  it('writes two drives in one job, tells every tab, and cancels on request', { skip: loopSkipReason() }, async () => {
    const imageSize = 8 * 1024 * 1024;
    const image = path.join(dir, 'two.img');
    const bytes = randomBytes(imageSize);
    writeFileSync(image, bytes);
    const a = createLoopDevice(imageSize, { fill: 'garbage' });
    const b = createLoopDevice(imageSize, { fill: 'garbage', sectorSize: 4096 });
    const client = await TestClient.connect(wsUrl);
    const watcher = await TestClient.connect(wsUrl); // a second tab: hears events, sends nothing
    try {
      const drives = await client.request('drives.list', {});
      const ids = [a, b].map((dev) => drives.find((d) => d.path === dev.path)?.id ?? 'missing');
      const { jobId } = await client.request('flash.start', { imagePath: image, driveIds: ids });
      const done = await watcher.waitForEvent('flash.done', (p) => p.jobId === jobId);
      assert.deepEqual(
        done.result.targets.map((t) => [t.path, t.ok]),
        [
          [a.path, true],
          [b.path, true],
        ],
      );
      assert.ok(readBacking(a, 0, imageSize).equals(bytes) && readBacking(b, 0, imageSize).equals(bytes), 'both devices hold the image');

      // Cancel right after the start: the job ends with CANCELLED and says the drive is incomplete.
      const big = path.join(dir, 'big-cancel.img');
      writeFileSync(big, randomBytes(imageSize));
      const second = await client.request('flash.start', { imagePath: big, driveIds: [ids[0]!] });
      assert.deepEqual(await client.request('flash.cancel', { jobId: second.jobId }), { cancelled: true });
      const outcome = await Promise.race([
        client.waitForEvent('flash.error', (p) => p.jobId === second.jobId).then((p) => p.error.code),
        client.waitForEvent('flash.done', (p) => p.jobId === second.jobId).then(() => 'done'),
      ]);
      assert.equal(outcome, 'CANCELLED');
      assert.deepEqual(await client.request('flash.cancel', { jobId: second.jobId }), { cancelled: false }, 'a finished job cannot be cancelled');
    } finally {
      client.close();
      watcher.close();
      a.dispose();
      b.dispose();
    }
  });

  it('pushes drives.changed when a drive appears', { skip: loopSkipReason() }, async () => {
    const client = await TestClient.connect(wsUrl);
    const device = createLoopDevice(2 * 1024 * 1024);
    try {
      const changed = await client.waitForEvent('drives.changed', (list) => list.some((d) => d.path === device.path));
      assert.equal(changed.find((d) => d.path === device.path)?.bus, 'loop');
    } finally {
      client.close();
      device.dispose();
    }
  });

  it('refuses a read-only loop device and a drive smaller than the image', { skip: loopSkipReason() }, async () => {
    const ro = createLoopDevice(4 * 1024 * 1024, { readOnly: true });
    const small = createLoopDevice(1024 * 1024);
    const image = path.join(dir, 'big.img');
    writeFileSync(image, randomBytes(2 * 1024 * 1024));
    const client = await TestClient.connect(wsUrl);
    try {
      const drives = await client.request('drives.list', {});
      const roDrive = drives.find((d) => d.path === ro.path);
      const smallDrive = drives.find((d) => d.path === small.path);
      assert.ok(roDrive && smallDrive);
      await assert.rejects(client.request('flash.start', { imagePath: image, driveIds: [roDrive.id] }), { code: 'TARGET_READ_ONLY' });
      await assert.rejects(client.request('flash.start', { imagePath: image, driveIds: [smallDrive.id] }), { code: 'IMAGE_TOO_LARGE' });
    } finally {
      client.close();
      ro.dispose();
      small.dispose();
    }
  });
});
