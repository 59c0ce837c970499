// Electron's entry point (package.json "main"). Everything testable lives in app-shell.ts and
// host/; this file only hands Electron's real modules to it. Run through `npm start`.

// First: sizes libuv's thread pool before anything uses it (io-threads.ts).
import '../engine/io-threads';
import type * as ElectronModule from 'electron';
import * as path from 'node:path';
import { createHostServices } from '../host/host-services';
import { startShell } from './app-shell';
import { electronIpcMain } from './ipc-router';

const electron = require('electron') as typeof ElectronModule;
const { app, BrowserWindow, dialog, shell, Notification, session } = electron;

// One instance: two would race for the same drives.
if (!app.requestSingleInstanceLock()) app.quit();

app.on('web-contents-created', (_event, contents) => {
  // Belt and braces for any contents the shell did not create itself.
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

async function start(): Promise<void> {
  // The page needs no camera, location, notifications or the like: main shows notifications itself.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  const services = createHostServices();
  const distRoot = path.resolve(__dirname, '..', '..');
  const shellHandle = await startShell({
    services,
    ipc: electronIpcMain(),
    createWindow: (options) => new BrowserWindow(options) as never,
    dialog: dialog as never,
    openExternal: (url) => shell.openExternal(url),
    notify: Notification.isSupported() ? (options) => new Notification(options) : undefined,
    rendererIndex: path.join(distRoot, 'renderer', 'index.html'),
    preloadPath: path.join(distRoot, 'electron', 'preload', 'index.js'),
  });
  app.on('second-instance', () => shellHandle.window.show());
  app.on('window-all-closed', () => {
    void shellHandle.close().finally(() => app.quit());
  });
}

app
  .whenReady()
  .then(start)
  .catch((error: unknown) => {
    console.error('Blockwise failed to start:', error);
    app.exit(1);
  });
