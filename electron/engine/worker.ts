// worker_threads entry: the engine runs here so no host's event loop ever waits on a disk.

// First: sizes libuv's thread pool before anything uses it (io-threads.ts).
import './io-threads';
import { parentPort } from 'node:worker_threads';
import { createEngineService } from './engine-service';
import type { EngineRequest } from './protocol';
import './sources/register';
// Composition root: unmount + identity check before, re-read + eject after (drives layer).
import '../drives/register-lifecycle';

if (!parentPort) throw new Error('engine/worker must be started as a worker thread');
const port = parentPort;
const service = createEngineService((event) => port.postMessage(event));
port.on('message', (request: EngineRequest) => {
  void service.handle(request);
});
