// The preload: exposes `window.blockwise` (the contract's BlockwiseBridge) and nothing else.
// It runs sandboxed, where require() knows only 'electron' and a few built-ins, so it imports
// nothing of ours at runtime (types only) and keeps its own copy of the channel names and bridge
// key; ipc-router.test.ts checks they match main's.

import type { BlockwiseBridge, ContractEvents, DroppedFile, EventName, RequestArgs, RequestName, RequestResult } from '../../shared/contract';
import type { SerializedError } from '../../shared/errors';

export const PRELOAD_CHANNELS = { request: 'blockwise:request', event: 'blockwise:event', ready: 'blockwise:ready' } as const;
export const PRELOAD_BRIDGE_KEY = 'blockwise';

/** The part of ipcRenderer the bridge uses (a fake wired to the router in tests). */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  send(channel: string, ...args: unknown[]): void;
}

type Reply = { ok: true; result: unknown } | { ok: false; error: SerializedError };

export function createBridge(ipc: IpcRendererLike, getPathForFile: (file: DroppedFile) => string): BlockwiseBridge {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let readySent = false;
  // The IPC event object is never passed on: it would hand the page the raw ipcRenderer.
  ipc.on(PRELOAD_CHANNELS.event, (_event, name, payload) => {
    for (const listener of listeners.get(name as EventName) ?? []) listener(payload);
  });

  return {
    async request<K extends RequestName>(name: K, args: RequestArgs<K>): Promise<RequestResult<K>> {
      const reply = (await ipc.invoke(PRELOAD_CHANNELS.request, name, args)) as Reply;
      if (reply.ok) return reply.result as RequestResult<K>;
      // A plain object, not an Error: contextBridge would strip an Error's `code`.
      throw reply.error;
    },
    on<K extends EventName>(name: K, listener: (payload: ContractEvents[K]) => void): () => void {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      if (!readySent) {
        // After the current task, so every subscription the store layer makes at startup is in
        // place before main flushes the events it queued.
        readySent = true;
        setTimeout(() => ipc.send(PRELOAD_CHANNELS.ready), 0);
      }
      return () => {
        set.delete(wrapped);
      };
    },
    pathForFile(file: DroppedFile): string {
      try {
        return getPathForFile(file);
      } catch {
        return '';
      }
    },
  };
}

if ((process as { type?: string }).type === 'renderer') {
  const { contextBridge, ipcRenderer, webUtils } = require('electron') as typeof import('electron');
  contextBridge.exposeInMainWorld(
    PRELOAD_BRIDGE_KEY,
    createBridge(ipcRenderer as unknown as IpcRendererLike, (file) => webUtils.getPathForFile(file as unknown as File)),
  );
}
