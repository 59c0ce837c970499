// Picks the transport the renderer talks through: the Electron preload bridge when the page runs
// in Blockwise's window, else the browser host's WebSocket (token taken from the page URL).
// Only the store layer imports this; components never touch the API.

import { BRIDGE_KEY, type BlockwiseApi, type BlockwiseBridge } from '../shared/contract';
import type { ConnectionState } from './ws-client';
import { WsClient, wsUrlFromPage } from './ws-client';

export interface Transport {
  api: BlockwiseApi;
  /** 'electron' has a native file dialog and knows dropped files' paths; 'browser' has neither. */
  kind: 'electron' | 'browser';
  pathForFile?(file: File): string | undefined;
  onConnection?(listener: (state: ConnectionState) => void): () => void;
}

export function createTransport(): Transport {
  const bridge = (window as unknown as Record<string, BlockwiseBridge | undefined>)[BRIDGE_KEY];
  if (bridge) {
    return {
      api: bridge,
      kind: 'electron',
      // Electron's webUtils.getPathForFile behind the preload; '' when it cannot tell.
      pathForFile: (file) => bridge.pathForFile(file) || undefined,
    };
  }
  const client = new WsClient(wsUrlFromPage(window.location));
  return { api: client, kind: 'browser', onConnection: (listener) => client.onConnection(listener) };
}
