import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BRIDGE_KEY, DEFAULT_SETTINGS } from '../../shared/contract';
import { REQUEST_NAMES } from '../../shared/contract-schemas';
import { PRELOAD_BRIDGE_KEY, PRELOAD_CHANNELS } from '../preload/index';
import { FakeIpcMain, FakeWebContents } from './fake-electron';
import { IPC_CHANNELS } from './ipc-channels';
import { IpcRouter, type SenderEvent } from './ipc-router';
import { RendererEvents } from './renderer-events';

const trusted: SenderEvent = { sender: { id: 1 }, senderFrame: { url: 'file:///app/index.html' } };

function router(ipc = new FakeIpcMain(), log: string[] = []) {
  return new IpcRouter({ ipc, isTrustedSender: (e) => e.sender.id === 1, onReady: () => undefined, log: (m) => log.push(m) });
}

describe('IPC router', () => {
  it('shares channel names and the bridge key with the sandboxed preload', () => {
    assert.deepEqual({ ...PRELOAD_CHANNELS }, { ...IPC_CHANNELS });
    assert.equal(PRELOAD_BRIDGE_KEY, BRIDGE_KEY);
  });

  it('will not listen while a contract request has no handler', () => {
    const r = router();
    r.handle('settings.get', async () => ({ ...DEFAULT_SETTINGS }));
    assert.equal(r.missingHandlers().length, REQUEST_NAMES.length - 1);
    assert.throws(() => r.listen(), /No IPC handler for: app\.info/);
    assert.throws(() => r.handle('settings.get', async () => ({ ...DEFAULT_SETTINGS })), /already registered/);
  });

  it('checks the sender, then the schema, before any handler runs', async () => {
    const log: string[] = [];
    const r = router(new FakeIpcMain(), log);
    const calls: unknown[] = [];
    r.handle('flash.cancel', async (args) => {
      calls.push(args);
      return { cancelled: true };
    });
    const stranger: SenderEvent = { sender: { id: 2 }, senderFrame: { url: 'https://evil.example/' } };
    assert.deepEqual((await r.route(stranger, 'flash.cancel', { jobId: 'x' })).ok, false);
    assert.match(log[0] ?? '', /untrusted sender \(https:\/\/evil\.example\/\)/);
    const bad = await r.route(trusted, 'flash.cancel', { jobId: 7 });
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.error.code, 'INVALID_REQUEST');
    const unknown = await r.route(trusted, 'drive.erase', {});
    assert.equal(!unknown.ok && unknown.error.code, 'INVALID_REQUEST');
    assert.deepEqual(calls, []);
    assert.deepEqual(await r.route(trusted, 'flash.cancel', { jobId: 'x' }), { ok: true, result: { cancelled: true } });
    assert.deepEqual(calls, [{ jobId: 'x' }]);
  });

  it('turns a throwing handler into an error reply with its code', async () => {
    const r = router();
    r.handle('flash.cancel', async () => {
      throw Object.assign(new Error('boom'), {});
    });
    const reply = await r.route(trusted, 'flash.cancel', { jobId: 'x' });
    assert.deepEqual(reply, { ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  });
});

describe('renderer events', () => {
  it('queues events until ready, then delivers them in order', () => {
    const contents = new FakeWebContents();
    const events = new RendererEvents(contents);
    events.send('drives.changed', []);
    events.send('flash.progress', { jobId: 'a', progress: { phase: 'writing', position: 1, speed: 0, effectiveSpeed: 0, targets: [] } });
    events.send('flash.progress', { jobId: 'a', progress: { phase: 'writing', position: 2, speed: 0, effectiveSpeed: 0, targets: [] } });
    events.send('flash.error', { jobId: 'a', error: { code: 'CANCELLED', message: 'stopped' } });
    assert.equal(contents.sent.length, 0);
    events.markReady();
    assert.deepEqual(
      contents.sent.map((s) => [s.channel, s.args[0]]),
      [
        [IPC_CHANNELS.event, 'drives.changed'],
        [IPC_CHANNELS.event, 'flash.progress'],
        [IPC_CHANNELS.event, 'flash.error'],
      ],
    );
    assert.equal((contents.sent[1]?.args[1] as { progress: { position: number } }).progress.position, 2, 'only the newest progress of a job waits');
    events.send('drives.changed', []);
    assert.equal(contents.sent.length, 4, 'after ready, events go straight out');
    events.reset();
    events.send('drives.changed', []);
    assert.equal(contents.sent.length, 4, 'a reloading page waits again');
    contents.destroyed = true;
    events.markReady();
    assert.equal(contents.sent.length, 4, 'nothing is sent to a destroyed window');
  });
});
