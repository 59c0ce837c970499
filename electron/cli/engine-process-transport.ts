// EngineTransport over the CLI's engine process (engine-process.ts): EngineClient works with it
// exactly as with a worker thread. Closing it never waits on that process for more than 2 s, and
// nothing of it keeps the command alive, so the command can exit while a silent drive still holds
// the engine's write.

import { fork } from 'node:child_process';
import * as path from 'node:path';
import { BlockwiseError, type SerializedError } from '../../shared/errors';
import type { EngineEvent, EngineTransport } from '../engine/protocol';
import { atMost } from '../engine/targets/io-watch';

export function engineProcessTransport(script = path.join(__dirname, 'engine-process.js')): EngineTransport {
  // Its output goes to this command's stderr through a pipe (never its stdout, which --json keeps
  // for JSON lines): a pipe this command reads, so a process left behind holds no terminal or log.
  const child = fork(script, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const exitListeners: Array<(error: SerializedError) => void> = [];
  let closing = false;
  /** Set once it died unasked: it is started before the job, which may be sent after. */
  let death: SerializedError | undefined;
  const died = (message: string) => {
    if (closing) return;
    closing = true;
    death = new BlockwiseError('INTERNAL', `The flash engine stopped unexpectedly: ${message}`, { driveIncomplete: true }).toJSON();
    for (const l of exitListeners) l(death);
  };
  child.on('error', (error) => died(error.message));
  child.on('exit', (code, signal) => died(signal ? `signal ${signal}` : `exit code ${code}`));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    send: (request) => {
      if (child.connected) child.send(request);
      else if (death) {
        // Died while the command was still checking its targets: the job sent now hears so.
        const error = death;
        queueMicrotask(() => exitListeners.forEach((l) => l(error)));
      }
    },
    onEvent: (listener) => child.on('message', (event: EngineEvent) => listener(event)),
    onExit: (listener) => exitListeners.push(listener),
    close: async () => {
      closing = true;
      // The engine cancels what still runs once its channel closes, and exits when that has ended.
      if (child.connected) child.disconnect();
      await atMost(exited, 2000);
      // One whose write is stuck in the kernel (a silent drive) is left to end on its own.
      child.unref();
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  };
}
