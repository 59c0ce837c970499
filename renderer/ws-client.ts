// The contract over the browser host's WebSocket (shared/ws-protocol.ts): request ids pair
// answers with questions; events fan out to listeners. When the socket drops (host restarted,
// laptop slept) it reconnects with backoff; requests in flight at that moment fail with a clear
// error instead of hanging, and requests made while disconnected wait for the next connection.

import type { BlockwiseApi, ContractEvents, EventName, RequestArgs, RequestName, RequestResult } from '../shared/contract';
import type { SerializedError } from '../shared/errors';
import type { ClientFrame, HostFrame } from '../shared/ws-protocol';
import { TOKEN_PARAM, WS_PATH } from '../shared/ws-protocol';
import { RequestFailed } from './request-failed';

/** 'refused': the host is there but turns this page's token down (missing, or from before a restart). */
export type ConnectionState = 'connecting' | 'open' | 'closed' | 'refused';

/** What a plain GET of the socket's address says of the token: 401 is 'refused'; anything else, or no answer, 'unknown'. */
export type TokenProbe = (wsUrl: string) => Promise<'refused' | 'unknown'>;

const probeToken: TokenProbe = (wsUrl) =>
  fetch(wsUrl.replace(/^ws/, 'http'), { cache: 'no-store' }).then(
    (response) => (response.status === 401 ? 'refused' : 'unknown'),
    () => 'unknown',
  );

/** The bits of the DOM WebSocket this client uses, so tests can hand in a fake. */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const OPEN = 1;
const REFUSED: SerializedError = {
  code: 'INTERNAL',
  message: 'Blockwise does not accept this page’s address any more: open the address it printed when it started.',
};
const MAX_BACKOFF_MS = 5000;

export function wsUrlFromPage(location: { protocol: string; host: string; search: string }): string {
  const token = new URLSearchParams(location.search).get(TOKEN_PARAM) ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${WS_PATH}?${TOKEN_PARAM}=${encodeURIComponent(token)}`;
}

export class WsClient implements BlockwiseApi {
  private socket: SocketLike | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly queue: { id: number; text: string }[] = [];
  private readonly listeners = new Map<EventName, Set<(payload: never) => void>>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private backoff = 250;
  private state: ConnectionState = 'connecting';

  constructor(
    private readonly url: string,
    private readonly open: (url: string) => SocketLike = (u) => new WebSocket(u) as unknown as SocketLike,
    private readonly schedule: (fn: () => void, ms: number) => void = (fn, ms) => void setTimeout(fn, ms),
    private readonly probe: TokenProbe = probeToken,
  ) {
    this.connect();
  }

  request<K extends RequestName>(name: K, args: RequestArgs<K>): Promise<RequestResult<K>> {
    const id = this.nextId++;
    const frame = { t: 'req', id, name, args } as ClientFrame;
    if (this.state === 'refused') return Promise.reject(new RequestFailed(REFUSED));
    return new Promise<RequestResult<K>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const text = JSON.stringify(frame);
      if (this.socket && this.socket.readyState === OPEN) this.socket.send(text);
      else this.queue.push({ id, text });
    });
  }

  on<K extends EventName>(name: K, listener: (payload: ContractEvents[K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  /** Called with every state change; 'open' after a reconnect means "refresh what you show". */
  onConnection(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  get connection(): ConnectionState {
    return this.state;
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private connect(): void {
    const socket = this.open(this.url);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.backoff = 250;
      this.setState('open');
      for (const item of this.queue.splice(0)) socket.send(item.text);
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onerror = () => {
      /* onclose follows and handles it */
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      // Requests already sent will never be answered by this connection.
      const lost: SerializedError = {
        code: 'INTERNAL',
        message: 'The connection to Blockwise was lost before it answered.',
      };
      const queued = new Set(this.queue.map((item) => item.id));
      const sentIds = [...this.pending.keys()].filter((id) => !queued.has(id));
      for (const id of sentIds) {
        this.pending.get(id)?.reject(new RequestFailed(lost));
        this.pending.delete(id);
      }
      this.setState('closed');
      if (opened) {
        this.reconnectLater();
        return;
      }
      // Never let in: a host restarted since this page was loaded listens on the same port with a
      // new token, and would turn this one down forever. A browser does not say why a socket was
      // refused, so ask over HTTP; only a host that is not there is worth waiting for.
      void this.probe(this.url).then((verdict) => {
        if (verdict === 'refused') this.refuse();
        else this.reconnectLater();
      });
    };
  }

  private reconnectLater(): void {
    this.schedule(() => this.connect(), this.backoff);
    this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
  }

  /** The host turns this page's token down: no request will ever be answered through it. */
  private refuse(): void {
    this.queue.splice(0);
    for (const pending of this.pending.values()) pending.reject(new RequestFailed(REFUSED));
    this.pending.clear();
    this.setState('refused');
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: HostFrame;
    try {
      frame = JSON.parse(data) as HostFrame;
    } catch {
      return;
    }
    if (frame.t === 'res') {
      const pending = this.pending.get(frame.id);
      if (!pending) return;
      this.pending.delete(frame.id);
      if (frame.ok) pending.resolve(frame.result);
      else pending.reject(new RequestFailed(frame.error));
    } else if (frame.t === 'evt') {
      for (const listener of this.listeners.get(frame.name) ?? []) {
        try {
          (listener as (payload: unknown) => void)(frame.payload);
        } catch (error) {
          console.error(`listener for ${frame.name} failed`, error);
        }
      }
    }
  }
}
