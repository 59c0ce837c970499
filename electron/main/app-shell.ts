// The Electron shell, wired from injected parts so tests can pass fakes of ipcMain, BrowserWindow
// and dialog: one window, the router in front of the shared host services, events to the window.

import type { BrowserWindowConstructorOptions } from 'electron';
import { pathToFileURL } from 'node:url';
import { createContractHandlers } from '../host/contract-handlers';
import type { HostServices } from '../host/host-services';
import { guardClose, type MessageBoxLike } from './close-guard';
import { notifyFlashEnd, type NotificationFactory } from './flash-notifier';
import { pickBackupFile, pickImage, type DialogLike } from './image-dialog';
import { IpcRouter, type IpcMainLike } from './ipc-router';
import { guardNavigation, type GuardedContents } from './navigation-guard';
import { RendererEvents, type EventTarget } from './renderer-events';
import { createTrustedSenderCheck } from './trusted-sender';
import { getMainWindowOptions } from './window-options';

export interface WindowLike {
  webContents: EventTarget & GuardedContents & { id: number; on(event: 'did-start-loading', listener: () => void): unknown };
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show' | 'closed', listener: () => void): unknown;
  on(event: 'close', listener: (event: { preventDefault(): void }) => void): unknown;
  close(): void;
  show(): void;
}

export interface ShellDeps {
  services: HostServices;
  ipc: IpcMainLike;
  createWindow: (options: BrowserWindowConstructorOptions) => WindowLike;
  dialog: DialogLike & MessageBoxLike;
  openExternal: (url: string) => unknown;
  /** Undefined where notifications are unsupported. */
  notify?: NotificationFactory;
  /** The built renderer's index.html and the compiled preload script. */
  rendererIndex: string;
  preloadPath: string;
}

export interface Shell {
  window: WindowLike;
  router: IpcRouter;
  events: RendererEvents;
  appUrl: string;
  close(): Promise<void>;
}

export async function startShell(deps: ShellDeps): Promise<Shell> {
  const appUrl = pathToFileURL(deps.rendererIndex).toString();
  const window = deps.createWindow(getMainWindowOptions(deps.preloadPath));
  let alive = true;
  window.once('closed', () => (alive = false));
  guardClose(window, deps.dialog, () => deps.services.flash.active());
  const events = new RendererEvents(window.webContents);
  // A reload drops the page's listeners: hold events until it says ready again.
  window.webContents.on('did-start-loading', () => events.reset());
  guardNavigation(window.webContents, appUrl, deps.openExternal);

  const router = new IpcRouter({
    ipc: deps.ipc,
    isTrustedSender: createTrustedSenderCheck(() => (alive ? window : undefined), appUrl),
    onReady: () => events.markReady(),
  });
  router.handleAll(
    createContractHandlers(deps.services, {
      host: 'electron',
      pickImage: () => pickImage(deps.dialog, window),
      pickBackupFile: (suggested) => pickBackupFile(deps.dialog, window, suggested),
    }),
  );
  router.listen();

  const unsubscribe = deps.services.bus.subscribe((event) => events.send(event.name, event.payload));
  const unnotify = deps.notify ? notifyFlashEnd(deps.services.bus, deps.notify) : () => undefined;
  deps.services.drives.start();

  window.once('ready-to-show', () => window.show());
  await window.loadURL(appUrl);
  return {
    window,
    router,
    events,
    appUrl,
    async close() {
      unsubscribe();
      unnotify();
      router.stop();
      await deps.services.close();
    },
  };
}
