// The CLI's engine, in a process of its own (started by engine-process-transport.ts): what the
// worker thread is for the app, over an IPC channel instead of a port. A separate process because
// a write to a drive that stopped answering sits in the kernel (uninterruptible) until the drive is
// pulled out, and no process exits while one of its threads does: with the engine in a thread of
// the command itself, Ctrl-C printed its message and the shell then waited for the drive. The
// command exits; this process follows when the kernel lets its write go.

// First: sizes libuv's thread pool before anything uses it (io-threads.ts).
import '../engine/io-threads';
import { createEngineService } from '../engine/engine-service';
import type { EngineRequest } from '../engine/protocol';
import '../engine/sources/register';
// Composition root: unmount + identity check before, re-read + eject after (drives layer).
import '../drives/register-lifecycle';

if (!process.send) throw new Error('cli/engine-process must be started with an IPC channel');

// Ctrl-C in a terminal signals the whole foreground process group, this process too. The command
// in front answers it (it sends the cancel and reports); dying here would end the flash without
// its cancel's clean end. The command's going away (its channel closing) is what stops this one.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);

const service = createEngineService((event) => {
  if (process.connected) process.send!(event);
});
const running = new Set<Promise<void>>();
process.on('message', (request: EngineRequest) => {
  const job = service.handle(request).finally(() => running.delete(job));
  running.add(job);
});
process.on('disconnect', () => {
  service.cancelAll();
  // Exits once every job has ended: at once after a finished one, or when a silent drive's write
  // comes back from the kernel.
  void Promise.allSettled([...running]).then(() => process.exit(0));
});
