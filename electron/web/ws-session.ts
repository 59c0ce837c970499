// One browser tab's socket: contract requests in, responses and every contract event out.
// A broken frame gets an INVALID_REQUEST response; nothing a client sends can stop the host.

import type { WebSocket } from 'ws';
import { BlockwiseError, serializeError } from '../../shared/errors';
import type { HostFrame } from '../../shared/ws-protocol';
import { dispatch, type ContractHandlers } from '../host/contract-handlers';
import type { EventBus } from '../host/event-bus';

function send(socket: WebSocket, frame: HostFrame): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
}

function frameId(frame: unknown): number {
  const id = (frame as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : -1;
}

export function attachSession(socket: WebSocket, handlers: ContractHandlers, bus: EventBus): void {
  const unsubscribe = bus.subscribe((event) => send(socket, { t: 'evt', name: event.name, payload: event.payload } as HostFrame));
  socket.on('close', unsubscribe);
  socket.on('error', unsubscribe);
  socket.on('message', (data, isBinary) => {
    void handleFrame(socket, handlers, isBinary ? undefined : data.toString());
  });
}

async function handleFrame(socket: WebSocket, handlers: ContractHandlers, text: string | undefined): Promise<void> {
  let frame: unknown;
  try {
    if (text === undefined) throw new BlockwiseError('INVALID_REQUEST', 'Binary frames are not part of the protocol; send JSON text.');
    try {
      frame = JSON.parse(text);
    } catch {
      throw new BlockwiseError('INVALID_REQUEST', 'The frame is not valid JSON.');
    }
    const f = frame as { t?: unknown; name?: unknown; args?: unknown };
    if (typeof frame !== 'object' || frame === null || f.t !== 'req' || frameId(frame) < 0) {
      throw new BlockwiseError('INVALID_REQUEST', 'Expected a request frame {t: "req", id: <integer ≥ 0>, name, args}.');
    }
    const result = await dispatch(handlers, f.name, f.args);
    send(socket, { t: 'res', id: frameId(frame), ok: true, result } as HostFrame);
  } catch (error) {
    send(socket, { t: 'res', id: frameId(frame), ok: false, error: serializeError(error) });
  }
}
