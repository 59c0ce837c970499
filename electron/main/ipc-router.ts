// The typed IPC router: the only place that touches ipcMain (eslint enforces it). Every request
// passes, in order: the trusted-sender check, the contract schema, then its handler. Handler
// types derive from the contract, so a handler with the wrong args or result fails the typecheck.
// Replies are envelopes, because Electron flattens a thrown error to its message and loses `code`.

import type { IpcMain } from 'electron';
import type { RequestName } from '../../shared/contract';
import { parseRequest, REQUEST_NAMES } from '../../shared/contract-schemas';
import { BlockwiseError, serializeError, type SerializedError } from '../../shared/errors';
import type { ContractHandlers, Handler } from '../host/contract-handlers';
import { IPC_CHANNELS } from './ipc-channels';

export type Reply = { ok: true; result: unknown } | { ok: false; error: SerializedError };

/** What a trusted-sender check looks at (Electron's IpcMainInvokeEvent / IpcMainEvent). */
export interface SenderEvent {
  sender: { id: number };
  senderFrame?: { url: string } | null;
}

/** The parts of ipcMain the router uses; an EventEmitter-like fake in tests. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: SenderEvent, ...args: unknown[]) => unknown): void;
  on(channel: string, listener: (event: SenderEvent, ...args: unknown[]) => void): unknown;
  removeHandler(channel: string): void;
  removeAllListeners(channel?: string): unknown;
}

/** Electron's real ipcMain; only callable inside Electron. */
export function electronIpcMain(): IpcMainLike {
  return (require('electron') as { ipcMain: IpcMain }).ipcMain as unknown as IpcMainLike;
}

export interface IpcRouterOptions {
  ipc: IpcMainLike;
  isTrustedSender: (event: SenderEvent) => boolean;
  /** Called when a trusted renderer says it listens for events. */
  onReady: (event: SenderEvent) => void;
  log?: (message: string) => void;
}

export class IpcRouter {
  private readonly handlers = new Map<RequestName, Handler<RequestName>>();

  constructor(private readonly options: IpcRouterOptions) {}

  handle<K extends RequestName>(name: K, handler: Handler<K>): void {
    if (this.handlers.has(name)) throw new Error(`A handler for ${name} is already registered.`);
    this.handlers.set(name, handler as unknown as Handler<RequestName>);
  }

  handleAll(handlers: ContractHandlers): void {
    for (const name of REQUEST_NAMES) this.handle(name, handlers[name] as Handler<typeof name>);
  }

  /** Contract requests nobody handles; the shell refuses to start unless this is empty. */
  missingHandlers(): RequestName[] {
    return REQUEST_NAMES.filter((name) => !this.handlers.has(name));
  }

  listen(): void {
    const missing = this.missingHandlers();
    if (missing.length > 0) throw new Error(`No IPC handler for: ${missing.join(', ')}.`);
    const log = this.options.log ?? ((m: string) => console.warn(m));
    this.options.ipc.handle(IPC_CHANNELS.request, (event, name, args) => this.route(event, name, args));
    this.options.ipc.on(IPC_CHANNELS.ready, (event) => {
      if (this.options.isTrustedSender(event)) this.options.onReady(event);
      else log(`blockwise: ignored a ready signal from an untrusted sender (${event.senderFrame?.url ?? 'no frame'}).`);
    });
  }

  stop(): void {
    this.options.ipc.removeHandler(IPC_CHANNELS.request);
    this.options.ipc.removeAllListeners(IPC_CHANNELS.ready);
  }

  /** Never throws: every outcome, including a refusal, is a Reply. */
  async route(event: SenderEvent, name: unknown, args: unknown): Promise<Reply> {
    if (!this.options.isTrustedSender(event)) {
      (this.options.log ?? console.warn)(`blockwise: dropped a request from an untrusted sender (${event.senderFrame?.url ?? 'no frame'}).`);
      return { ok: false, error: new BlockwiseError('PERMISSION_DENIED', 'This window may not talk to Blockwise.').toJSON() };
    }
    try {
      const request = parseRequest(name, args);
      const handler = this.handlers.get(request.name);
      if (!handler) throw new BlockwiseError('INTERNAL', `No handler for ${request.name}.`);
      return { ok: true, result: await handler(request.args) };
    } catch (error) {
      return { ok: false, error: serializeError(error) };
    }
  }
}
