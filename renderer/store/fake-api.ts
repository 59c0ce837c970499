// A scriptable BlockwiseApi for the stores' unit tests: answers requests from handlers the test
// sets, records every request, and lets the test emit contract events.

import type { BlockwiseApi, ContractEvents, EventName, RequestArgs, RequestName, RequestResult } from '../../shared/contract';

type Handler<K extends RequestName> = (args: RequestArgs<K>) => RequestResult<K> | Promise<RequestResult<K>>;

export class FakeApi implements BlockwiseApi {
  readonly calls: { name: RequestName; args: unknown }[] = [];
  private readonly handlers = new Map<RequestName, Handler<never>>();
  private readonly listeners = new Map<EventName, Set<(payload: never) => void>>();

  handle<K extends RequestName>(name: K, handler: Handler<K>): this {
    this.handlers.set(name, handler as unknown as Handler<never>);
    return this;
  }

  async request<K extends RequestName>(name: K, args: RequestArgs<K>): Promise<RequestResult<K>> {
    this.calls.push({ name, args });
    const handler = this.handlers.get(name) as unknown as Handler<K> | undefined;
    if (!handler) throw Object.assign(new Error(`no handler for ${name}`), { code: 'INTERNAL' });
    return handler(args);
  }

  on<K extends EventName>(name: K, listener: (payload: ContractEvents[K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  emit<K extends EventName>(name: K, payload: ContractEvents[K]): void {
    for (const listener of this.listeners.get(name) ?? []) (listener as (p: ContractEvents[K]) => void)(payload);
  }
}

/** Lets pending promise callbacks run. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
