// Picks the transport the renderer talks through: the Electron preload bridge when the page runs
// in Blockwise's window, else the browser host's WebSocket (token taken from the page URL).
// Only the store layer imports this; components never touch the API.

import type { BlockwiseApi } from '../shared/contract';
import type { ConnectionState } from './ws-client';
import { WsClient, wsUrlFromPage } from './ws-client';

/** What Electron's preload exposes as window.blockwise. */
export interface PreloadBridge extends BlockwiseApi {
  /** Path of a dropped File (Electron's webUtils.getPathForFile); browsers cannot know it. */
  pathForFile?(file: File): string;
}

export interface Transport {
  api: BlockwiseApi;
  /** 'electron' has a native file dialog and knows dropped files' paths; 'browser' has neither. */
  kind: 'electron' | 'browser';
  pathForFile?(file: File): string | undefined;
  onConnection?(listener: (state: ConnectionState) => void): () => void;
}

declare global {
  interface Window {
    blockwise?: PreloadBridge;
  }
}

export function createTransport(): Transport {
  const bridge = window.blockwise;
  if (bridge) {
    return {
      api: bridge,
      kind: 'electron',
      pathForFile: (file) => bridge.pathForFile?.(file) || undefined,
    };
  }
  const client = new WsClient(wsUrlFromPage(window.location));
  return { api: client, kind: 'browser', onConnection: (listener) => client.onConnection(listener) };
}
