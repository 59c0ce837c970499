// main → renderer events, held back until the renderer says it is listening. Without the queue a
// fast first progress event (or the first drive list) would be sent into a page still loading.

import type { ContractEvents, EventName } from '../../shared/contract';
import { IPC_CHANNELS } from './ipc-channels';

/** The window's webContents as far as sending goes (a fake in tests). */
export interface EventTarget {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

/** Bounded so a renderer that never gets ready cannot grow main's memory without end. */
const MAX_QUEUED = 1000;

export class RendererEvents {
  private ready = false;
  private queue: Array<[EventName, unknown]> = [];

  constructor(private readonly target: EventTarget) {}

  send<K extends EventName>(name: K, payload: ContractEvents[K]): void {
    if (this.target.isDestroyed()) return;
    if (!this.ready) {
      // Progress is a snapshot: keep only the newest one per job so the queue stays small.
      if (name === 'flash.progress') {
        const jobId = (payload as ContractEvents['flash.progress']).jobId;
        this.queue = this.queue.filter(([n, p]) => n !== 'flash.progress' || (p as ContractEvents['flash.progress']).jobId !== jobId);
      }
      this.queue.push([name, payload]);
      if (this.queue.length > MAX_QUEUED) this.queue.shift();
      return;
    }
    this.target.send(IPC_CHANNELS.event, name, payload);
  }

  /** The renderer subscribed: deliver what waited, in order. */
  markReady(): void {
    if (this.ready) return;
    this.ready = true;
    const queued = this.queue;
    this.queue = [];
    for (const [name, payload] of queued) {
      if (this.target.isDestroyed()) return;
      this.target.send(IPC_CHANNELS.event, name, payload);
    }
  }

  /** The page is (re)loading: its listeners are gone until it says ready again. */
  reset(): void {
    this.ready = false;
  }

  get isReady(): boolean {
    return this.ready;
  }
}
