// A tiny contract client over `ws` for the browser host's tests: requests by id, events by name.

import WebSocket from 'ws';
import type { ContractEvents, EventName, RequestArgs, RequestName, RequestResult } from '../../shared/contract';
import type { SerializedError } from '../../shared/errors';
import type { HostFrame } from '../../shared/ws-protocol';

export class TestClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: SerializedError) => void }>();
  readonly events: Array<{ name: EventName; payload: unknown }> = [];
  private readonly eventWaiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.receive(JSON.parse(data.toString()) as HostFrame));
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const socket = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  request<K extends RequestName>(name: K, args: RequestArgs<K>): Promise<RequestResult<K>> {
    return this.raw({ t: 'req', id: this.nextId++, name, args }) as Promise<RequestResult<K>>;
  }

  /** Sends any frame (to test broken ones); resolves/rejects with the response to its id. */
  raw(frame: unknown, id = (frame as { id?: number }).id ?? -1): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    });
  }

  /** Resolves with the first event (already received or coming) that matches. */
  async waitForEvent<K extends EventName>(name: K, match: (payload: ContractEvents[K]) => boolean = () => true): Promise<ContractEvents[K]> {
    for (;;) {
      const found = this.events.find((e) => e.name === name && match(e.payload as ContractEvents[K]));
      if (found) return found.payload as ContractEvents[K];
      await new Promise<void>((resolve) => this.eventWaiters.push(resolve));
    }
  }

  close(): void {
    this.socket.close();
  }

  private receive(frame: HostFrame): void {
    if (frame.t === 'evt') {
      this.events.push({ name: frame.name, payload: frame.payload });
      for (const wake of this.eventWaiters.splice(0)) wake();
      return;
    }
    const w = this.waiting.get(frame.id);
    if (!w) return;
    this.waiting.delete(frame.id);
    if (frame.ok) w.resolve(frame.result);
    else w.reject(frame.error);
  }
}
