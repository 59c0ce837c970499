// The browser host's wire format: the contract's requests and events as JSON over one WebSocket.
// URL: http://127.0.0.1:PORT/?token=TOKEN serves the renderer; ws://127.0.0.1:PORT/ws?token=TOKEN
// carries these frames. Connections without the token or from another origin are refused.

import type { ContractEvents, EventName, RequestArgs, RequestName, RequestResult } from './contract';
import type { SerializedError } from './errors';

export type ClientFrame = { [K in RequestName]: { t: 'req'; id: number; name: K; args: RequestArgs<K> } }[RequestName];

export type HostFrame =
  | { [K in RequestName]: { t: 'res'; id: number; ok: true; result: RequestResult<K> } }[RequestName]
  | { t: 'res'; id: number; ok: false; error: SerializedError }
  | { [K in EventName]: { t: 'evt'; name: K; payload: ContractEvents[K] } }[EventName];

export const WS_PATH = '/ws';
export const TOKEN_PARAM = 'token';
