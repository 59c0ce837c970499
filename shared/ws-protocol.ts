// The browser host's wire format: the contract's requests and events as JSON over one WebSocket.
// URL: http://127.0.0.1:PORT/?token=TOKEN serves the renderer; ws://127.0.0.1:PORT/ws?token=TOKEN
// carries these frames. Connections without the token or from another origin are refused.

import type { ContractEvents, EventName, RequestArgs, RequestName, RequestResult } from './contract';
import type { SerializedError } from './errors';

export type ClientFrame = { [K in RequestName]: { t: 'req'; id: number; name: K; args: RequestArgs<K> } }[RequestName];

export type HostFrame =
  | { [K in RequestName]: { t: 'res'; id: number; ok: true; result: RequestResult<K> } }[RequestName]
  /** id is -1 when the frame was too broken to carry one (not JSON, no numeric id). */
  | { t: 'res'; id: number; ok: false; error: SerializedError }
  | { [K in EventName]: { t: 'evt'; name: K; payload: ContractEvents[K] } }[EventName];

export const WS_PATH = '/ws';
export const TOKEN_PARAM = 'token';
/** The host prints this, then the URL, on one line of stdout once it listens (for scripts and e2e). */
export const READY_PREFIX = 'Blockwise is ready at ';
/** Largest client frame accepted; requests are small. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
