// The WebSocket client against a scripted socket: pairing by id, events, and a dropped connection.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestFailed } from './request-failed';
import { type SocketLike, WsClient, wsUrlFromPage } from './ws-client';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
    this.onclose?.({});
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  reply(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  const client = new WsClient(
    'ws://x/ws?token=t',
    () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    (fn) => timers.push(fn),
  );
  return { client, sockets, timers };
}

test('the URL carries the page token to /ws', () => {
  assert.equal(wsUrlFromPage({ protocol: 'http:', host: '127.0.0.1:4000', search: '?token=a%2Fb' }), 'ws://127.0.0.1:4000/ws?token=a%2Fb');
});

test('requests made before the socket opens are sent on open and answered by id', async () => {
  const { client, sockets } = setup();
  const first = client.request('drives.list', {});
  const second = client.request('settings.get', {});
  const socket = sockets[0]!;
  assert.equal(socket.sent.length, 0);
  socket.open();
  assert.deepEqual(socket.sent.map((f) => (f as { name: string }).name), ['drives.list', 'settings.get']);
  const [a, b] = socket.sent as { id: number }[];
  socket.reply({ t: 'res', id: b!.id, ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  socket.reply({ t: 'res', id: a!.id, ok: true, result: [] });
  assert.deepEqual(await first, []);
  await assert.rejects(second, (e: unknown) => e instanceof RequestFailed && e.serialized.message === 'boom');
});

test('events reach their listeners until unsubscribed', () => {
  const { client, sockets } = setup();
  sockets[0]!.open();
  const seen: unknown[] = [];
  const off = client.on('drives.changed', (d) => seen.push(d));
  sockets[0]!.reply({ t: 'evt', name: 'drives.changed', payload: [] });
  off();
  sockets[0]!.reply({ t: 'evt', name: 'drives.changed', payload: [] });
  assert.equal(seen.length, 1);
});

test('a dropped connection fails requests in flight, reconnects, and reports the state', async () => {
  const { client, sockets, timers } = setup();
  const states: string[] = [];
  client.onConnection((s) => states.push(s));
  sockets[0]!.open();
  const inFlight = client.request('drives.list', {});
  sockets[0]!.close();
  await assert.rejects(inFlight, /connection .* lost/);
  const queued = client.request('settings.get', {});
  assert.equal(timers.length, 1);
  timers[0]!();
  sockets[1]!.open();
  const frame = sockets[1]!.sent[0] as { id: number; name: string };
  assert.equal(frame.name, 'settings.get');
  sockets[1]!.reply({ t: 'res', id: frame.id, ok: true, result: { verify: true } });
  assert.deepEqual(await queued, { verify: true });
  assert.deepEqual(states, ['open', 'closed', 'open']);
});

test('a socket turned away by a host that no longer takes the page’s token is not retried: the state says so and requests fail', async () => {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  const probes: string[] = [];
  const verdicts: ('refused' | 'unknown')[] = ['unknown', 'refused'];
  const client = new WsClient(
    'ws://x/ws?token=old',
    () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    (fn) => timers.push(fn),
    async (url) => {
      probes.push(url);
      return verdicts.shift() ?? 'refused';
    },
  );
  const states: string[] = [];
  client.onConnection((s) => states.push(s));
  sockets[0]!.open();
  sockets[0]!.close();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(probes.length, 0, 'a connection that was open and dropped is simply retried');
  assert.equal(timers.length, 1);

  timers[0]!();
  const waiting = assert.rejects(client.request('drives.list', {}), /open the address it printed/);
  sockets[1]!.close(); // never opened: the host is down (restarting)
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(probes, ['ws://x/ws?token=old']);
  assert.equal(timers.length, 2, 'a host that is not there is waited for');

  timers[1]!();
  sockets[2]!.close(); // up again, with a new token: it turns this one down
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(timers.length, 2, 'no retry can mend a refused token');
  assert.deepEqual(states, ['open', 'closed', 'refused']);
  await waiting;
  await assert.rejects(client.request('settings.get', {}), /open the address it printed/);
});
