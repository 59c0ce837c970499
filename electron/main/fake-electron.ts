// Little real classes standing in for Electron's ipcMain, BrowserWindow and dialog in tests (the
// Electron Fiddle approach): ipcMain is an EventEmitter a test can invoke or emit on directly.

import { EventEmitter } from 'node:events';
import type { DialogLike } from './image-dialog';
import type { IpcMainLike, SenderEvent } from './ipc-router';
import type { IpcRendererLike } from '../preload/index';

export class FakeIpcMain extends EventEmitter implements IpcMainLike {
  readonly handlers = new Map<string, (event: SenderEvent, ...args: unknown[]) => unknown>();

  handle(channel: string, listener: (event: SenderEvent, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  /** What ipcRenderer.invoke does: runs the handler, rejects when there is none. */
  async invoke(channel: string, event: SenderEvent, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler(event, ...args);
  }
}

export class FakeWebContents extends EventEmitter {
  private static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly sent: Array<{ channel: string; args: unknown[] }> = [];
  destroyed = false;
  openHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;

  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler;
  }

  /** Emits a cancellable navigation-style event; true when a listener prevented it. */
  tryNavigate(kind: 'will-navigate' | 'will-redirect', url: string): boolean {
    let prevented = false;
    this.emit(kind, { preventDefault: () => (prevented = true) }, url);
    return prevented;
  }
}

export class FakeWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  loadedUrl: string | undefined;
  shown = false;

  constructor(readonly options: unknown) {
    super();
  }

  async loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.webContents.emit('did-start-loading');
    this.emit('ready-to-show');
  }

  show(): void {
    this.shown = true;
  }

  /** As BrowserWindow.close: 'close' may be prevented; otherwise the window goes ('closed'). */
  close(): void {
    let prevented = false;
    this.emit('close', { preventDefault: () => (prevented = true) });
    if (prevented) return;
    this.closed = true;
    this.emit('closed');
  }

  closed = false;
}

export class FakeDialog implements DialogLike {
  readonly calls: unknown[] = [];
  constructor(
    private readonly answer: { canceled: boolean; filePaths: string[] },
    private readonly saveAnswer: { canceled: boolean; filePath?: string } = { canceled: true },
  ) {}

  async showOpenDialog(_window: unknown, options: unknown): Promise<{ canceled: boolean; filePaths: string[] }> {
    this.calls.push(options);
    return this.answer;
  }

  async showSaveDialog(_window: unknown, options: unknown): Promise<{ canceled: boolean; filePath?: string }> {
    this.calls.push(options);
    return this.saveAnswer;
  }
}

/** An ipcRenderer for one page (sender + frame URL), wired straight to a FakeIpcMain and its window. */
export function fakeIpcRenderer(ipcMain: FakeIpcMain, contents: FakeWebContents, frameUrl: string): IpcRendererLike & { flush(): void } {
  const event: SenderEvent = { sender: { id: contents.id }, senderFrame: { url: frameUrl } };
  const listeners = new Map<string, Array<(event: unknown, ...args: unknown[]) => void>>();
  let delivered = 0;
  return {
    invoke: (channel, ...args) => ipcMain.invoke(channel, event, ...args),
    send: (channel, ...args) => void ipcMain.emit(channel, event, ...args),
    on(channel, listener) {
      listeners.set(channel, [...(listeners.get(channel) ?? []), listener]);
    },
    /** Delivers what main sent to the window since the last flush. */
    flush() {
      for (const { channel, args } of contents.sent.slice(delivered)) for (const l of listeners.get(channel) ?? []) l({}, ...args);
      delivered = contents.sent.length;
    },
  };
}
