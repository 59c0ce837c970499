// Progress fan-out: services publish contract events once; every host (each browser tab's socket,
// the Electron window) subscribes and forwards them its own way.

import type { ContractEvents, EventName } from '../../shared/contract';

export type AnyEvent = { [K in EventName]: { name: K; payload: ContractEvents[K] } }[EventName];
export type EventListener = (event: AnyEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  emit<K extends EventName>(name: K, payload: ContractEvents[K]): void {
    const event = { name, payload } as AnyEvent;
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        // One broken subscriber (a closed socket, a destroyed window) must not starve the others.
        console.error(`blockwise: event listener failed on ${name}:`, error);
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
