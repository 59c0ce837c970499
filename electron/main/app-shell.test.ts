// The Electron shell wired with fakes of ipcMain, BrowserWindow and dialog, but the real host
// services, the real drive scanner and the real preload bridge.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BlockwiseBridge } from '../../shared/contract';
import { REQUEST_NAMES } from '../../shared/contract-schemas';
import { createHostServices, type HostServices } from '../host/host-services';
import { createBridge } from '../preload/index';
import { startShell, type Shell } from './app-shell';
import { FakeDialog, FakeIpcMain, fakeIpcRenderer, FakeWindow } from './fake-electron';
import { IPC_CHANNELS } from './ipc-channels';

describe('Electron shell wiring', () => {
  let dir: string;
  let services: HostServices;
  let shell: Shell;
  let ipc: FakeIpcMain;
  let window: FakeWindow;
  let dialogAnswer: { canceled: boolean; filePaths: string[] };
  const saveOptions: unknown[] = [];
  let saveAnswer: { canceled: boolean; filePath?: string } = { canceled: true };
  let image: string;
  const notified: Array<{ title: string; body: string }> = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-shell-'));
    // On RAM (tmpfs) when possible, so the image is not on the system disk we expect refused as SYSTEM_DRIVE.
    image = path.join(existsSync('/dev/shm') ? mkdtempSync('/dev/shm/blockwise-shell-') : dir, 'disk.img');
    writeFileSync(image, randomBytes(128 * 1024));
    services = createHostServices({ configDir: path.join(dir, 'config') });
    ipc = new FakeIpcMain();
    dialogAnswer = { canceled: false, filePaths: [image] };
    shell = await startShell({
      services,
      ipc,
      createWindow: (options) => (window = new FakeWindow(options)),
      dialog: {
        showOpenDialog: async (w, o) => new FakeDialog(dialogAnswer).showOpenDialog(w, o),
        showSaveDialog: async (w, o) => {
          saveOptions.push(o);
          return saveAnswer;
        },
        showMessageBox: async () => ({ response: 0 }),
      },
      openExternal: () => undefined,
      notify: (n) => ({ show: () => notified.push(n) }),
      rendererIndex: path.join(dir, 'renderer', 'index.html'),
      preloadPath: path.join(dir, 'preload.js'),
    });
  });

  after(async () => {
    await shell.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(path.dirname(image), { recursive: true, force: true });
  });

  function bridgeFor(frameUrl = shell.appUrl, contents = window.webContents) {
    const ipcRenderer = fakeIpcRenderer(ipc, contents, frameUrl);
    return { bridge: createBridge(ipcRenderer, (f) => `/dropped/${f.name}`), ipcRenderer };
  }

  it('opens the app page in a secured window and handles every contract request', async () => {
    assert.equal(window.loadedUrl, shell.appUrl);
    assert.match(shell.appUrl, /^file:\/\/.*\/renderer\/index\.html$/);
    assert.equal((window.options as { webPreferences: { sandbox: boolean } }).webPreferences.sandbox, true);
    assert.equal(window.shown, true);
    assert.deepEqual(shell.router.missingHandlers(), []);
    assert.ok(ipc.handlers.has(IPC_CHANNELS.request));
    const { bridge } = bridgeFor();
    for (const name of REQUEST_NAMES) {
      // Every request reaches a handler: a valid call never comes back "unknown" or "no handler".
      const reply = (await ipc.invoke(IPC_CHANNELS.request, { sender: { id: window.webContents.id }, senderFrame: { url: shell.appUrl } }, name, {})) as {
        ok: boolean;
        error?: { message: string };
      };
      assert.doesNotMatch(reply.error?.message ?? '', /Unknown request|No handler/, name);
    }
    assert.equal((await bridge.request('app.info', {})).host, 'electron');
    assert.equal(bridge.pathForFile({ name: 'x.img', size: 1 }), '/dropped/x.img');
  });

  it('picks an image through the native dialog, or nothing when cancelled', async () => {
    const { bridge } = bridgeFor();
    const picked = await bridge.request('image.pick', {});
    assert.equal(picked?.path, image);
    assert.deepEqual(picked?.formats, ['raw']);
    assert.equal(picked?.storedSize, 128 * 1024);
    dialogAnswer = { canceled: true, filePaths: [] };
    assert.equal(await bridge.request('image.pick', {}), null);
  });

  it('picks where a backup goes through the native save dialog, opened at the suggested file; nothing when cancelled', async () => {
    const { bridge } = bridgeFor();
    saveAnswer = { canceled: false, filePath: '/home/me/card.img.gz' };
    assert.deepEqual(await bridge.request('drives.backupPick', { file: '/home/me/Downloads/card-2026-12-05.img.zst' }), { file: '/home/me/card.img.gz' });
    const options = saveOptions.at(-1) as { defaultPath: string; filters: Array<{ extensions: string[] }> };
    assert.equal(options.defaultPath, '/home/me/Downloads/card-2026-12-05.img.zst');
    assert.deepEqual(options.filters.map((f) => f.extensions[0]), ['zst', 'gz', 'xz', 'img']);
    saveAnswer = { canceled: true };
    assert.equal(await bridge.request('drives.backupPick', { file: '/home/me/x.img.zst' }), null);
  });

  it('rejects malformed payloads and unknown drive ids with an error, not a crash', async () => {
    const { bridge } = bridgeFor();
    await assert.rejects(bridge.request('flash.start', { imagePath: 5, driveIds: 'all' } as never), { code: 'INVALID_REQUEST' });
    await assert.rejects(bridge.request('settings.set', { verify: false, evil: true } as never), { code: 'INVALID_REQUEST' });
    await assert.rejects(bridge.request('flash.start', { imagePath: image, driveIds: ['no-such-drive'] }), { code: 'TARGET_NOT_FOUND' });
    // A path is not an id either, even the path of a listed drive.
    const drives = await bridge.request('drives.list', {});
    for (const d of drives) await assert.rejects(bridge.request('flash.start', { imagePath: image, driveIds: [d.path] }), { code: 'TARGET_NOT_FOUND' });
    assert.equal((await bridge.request('settings.get', {})).verify, true, 'still serving');
  });

  it('refuses the real system disk from the real scan', async (t) => {
    const { bridge } = bridgeFor();
    const system = (await bridge.request('drives.list', {})).find((d) => d.system);
    if (!system) return t.skip('the scanner lists no system drive on this machine');
    await assert.rejects(bridge.request('flash.start', { imagePath: image, driveIds: [system.id] }), { code: 'SYSTEM_DRIVE' });
    // "Show all drives" + confirmation passes the host's rule; the engine still refuses (SYSTEM_DRIVE as a flash.error).
    assert.deepEqual(await bridge.request('flash.jobs', {}), []);
  });

  it('drops requests from untrusted senders without running them', async () => {
    await bridgeFor().bridge.request('settings.set', { verify: true });
    const before = readFileSync(path.join(dir, 'config', 'settings.json'), 'utf8');
    const other = new FakeWindow({});
    const strangers: BlockwiseBridge[] = [bridgeFor(shell.appUrl, other.webContents).bridge, bridgeFor('https://evil.example/index.html').bridge, bridgeFor('file:///tmp/other.html').bridge];
    for (const stranger of strangers) {
      await assert.rejects(stranger.request('settings.set', { verify: false }), { code: 'PERMISSION_DENIED' });
    }
    assert.equal((await bridgeFor().bridge.request('settings.get', {})).verify, true, 'the setting did not change');
    assert.equal(readFileSync(path.join(dir, 'config', 'settings.json'), 'utf8'), before, 'nothing was written');
  });

  it('queues events until the renderer listens, then delivers them in order', async () => {
    window.webContents.emit('did-start-loading'); // a reload: listeners gone
    // The real scanner may add drives.changed events of its own; ours must keep their order.
    services.bus.emit('flash.error', { jobId: 'j0', error: { code: 'CANCELLED', message: 'Cancelled.' } });
    services.bus.emit('drives.changed', []);
    services.bus.emit('flash.error', { jobId: 'j1', error: { code: 'CANCELLED', message: 'Cancelled.' } });
    const { bridge, ipcRenderer } = bridgeFor();
    const seen: string[] = [];
    bridge.on('drives.changed', () => seen.push('drives.changed'));
    bridge.on('flash.error', (p) => seen.push(`flash.error:${p.jobId}`));
    ipcRenderer.flush();
    assert.equal(seen.length, 0, 'nothing before ready');
    await new Promise((r) => setTimeout(r, 0)); // the bridge signals ready after the current task
    ipcRenderer.flush();
    const j0 = seen.indexOf('flash.error:j0');
    const j1 = seen.indexOf('flash.error:j1');
    assert.ok(j0 >= 0 && j1 > j0 && seen.slice(j0, j1).includes('drives.changed'), `delivered in order: ${seen.join(', ')}`);
    assert.deepEqual(notified.at(-1), { title: 'Flash failed', body: 'Cancelled. Flash the drive again before using it.' });
    services.bus.emit('flash.error', { jobId: 'j2', error: { code: 'CANCELLED', message: 'Cancelled.' } });
    ipcRenderer.flush();
    assert.deepEqual(seen.at(-1), 'flash.error:j2');
  });
});
