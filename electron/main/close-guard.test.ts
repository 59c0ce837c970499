// Closing Blockwise's window mid-flash: the shell (fake BrowserWindow and dialog, real host
// services, a real job on a loop device whose image download is held back) asks first, keeps the
// flash when told to, and cancels it when told to close anyway.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHostServices, type HostServices } from '../host/host-services';
import { createLoopDevice, loopSkipReason, type LoopDevice } from '../test-support/loop-device';
import { startShell, type Shell } from './app-shell';
import { CLOSE_ANYWAY, guardClose, type MessageBoxOptions } from './close-guard';
import { FakeIpcMain, FakeWindow } from './fake-electron';

describe('closing the window while a flash runs', { skip: loopSkipReason() }, () => {
  let dir: string;
  let services: HostServices;
  let shell: Shell;
  let window: FakeWindow;
  let server: http.Server;
  let device: LoopDevice;
  const questions: MessageBoxOptions[] = [];
  let answer = 0;
  let savedLoop: string | undefined;

  before(async () => {
    savedLoop = process.env.BLOCKWISE_INCLUDE_LOOP;
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-close-');
    // Answers nothing: the flash waits on its download for as long as the test needs.
    server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    device = createLoopDevice(8 * 1024 * 1024);
    services = createHostServices({ configDir: path.join(dir, 'config') });
    shell = await startShell({
      services,
      ipc: new FakeIpcMain(),
      createWindow: (options) => (window = new FakeWindow(options)),
      dialog: {
        showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
        showSaveDialog: async () => ({ canceled: true }),
        showMessageBox: async (_window, options) => {
          questions.push(options);
          return { response: answer };
        },
      },
      openExternal: () => undefined,
      rendererIndex: path.join(dir, 'renderer', 'index.html'),
      preloadPath: path.join(dir, 'preload.js'),
    });
  });

  after(async () => {
    await shell?.close();
    server?.closeAllConnections();
    server?.close();
    device?.dispose();
    rmSync(dir, { recursive: true, force: true });
    if (savedLoop === undefined) delete process.env.BLOCKWISE_INCLUDE_LOOP;
    else process.env.BLOCKWISE_INCLUDE_LOOP = savedLoop;
  });

  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

  it('asks, keeps flashing on "Keep flashing", and closes, cancelling, on "close anyway"', async () => {
    const drive = (await services.drives.list()).find((d) => d.path === device.path);
    assert.ok(drive, `${device.path} is listed`);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/held.img`;
    const { jobId } = await services.flash.start({ url, driveIds: [drive.id] });

    window.close();
    await settle();
    assert.equal(window.closed, false, 'the window stays while the question is asked');
    assert.equal(questions.length, 1);
    assert.equal(questions[0]!.message, `Blockwise is still writing ${device.path}.`);
    assert.match(questions[0]!.detail, /cancels the flash and leaves the drive incomplete/);
    assert.deepEqual(questions[0]!.buttons, ['Keep flashing', 'Cancel the flash and close']);
    assert.equal(window.closed, false, '"Keep flashing" keeps the window');
    assert.deepEqual(services.flash.active().map((j) => j.jobId), [jobId], 'and the flash');

    answer = CLOSE_ANYWAY;
    window.close();
    await settle();
    assert.equal(questions.length, 2);
    assert.equal(window.closed, true, 'closed once the person chose to');
    await shell.close(); // what index.ts does when the last window is gone
    assert.deepEqual(services.flash.active(), [], 'the flash was cancelled');
    const ended = services.flash.listed().find((j) => j.jobId === jobId);
    assert.ok(ended?.outcome && 'error' in ended.outcome && ended.outcome.error.code === 'CANCELLED', JSON.stringify(ended?.outcome));
    assert.equal(device.bytesWritten(), 0);
  });

  it('closes at once when nothing runs', () => {
    const idle = new FakeWindow({});
    let asked = false;
    guardClose(idle, { showMessageBox: async () => ((asked = true), { response: 0 }) }, () => []);
    idle.close();
    assert.equal(idle.closed, true);
    assert.equal(asked, false);
  });
});
