// The engine side of the protocol: runs requests, streams their events, honours cancel.
// Used by the worker thread and by the elevated helper; knows nothing about how messages travel.

import { serializeError } from '../../shared/errors';
import { runBackup } from './backup';
import { checkCapacity } from './capacity-check';
import { runCompare } from './compare';
import { runFlash } from './flash';
import type { EngineEvent, EngineRequest } from './protocol';

export interface EngineServiceOptions {
  /** Lets a host (the elevated helper) refuse requests before they run. */
  authorize?: (request: EngineRequest) => void;
}

export function createEngineService(send: (event: EngineEvent) => void, options: EngineServiceOptions = {}) {
  const running = new Map<number, AbortController>();

  return {
    /** Handles one request; resolves when it has finished (its final event has been sent). */
    async handle(request: EngineRequest): Promise<void> {
      if (request.type === 'cancel') {
        running.get(request.id)?.abort();
        return;
      }
      const controller = new AbortController();
      running.set(request.id, controller);
      const onProgress = (progress: import('../../shared/flash-types').FlashProgress) => send({ type: 'progress', id: request.id, progress });
      try {
        options.authorize?.(request);
        if (request.type === 'flash') {
          const result = await runFlash(request.job, { signal: controller.signal, onProgress });
          send({ type: 'flash-done', id: request.id, result });
        } else if (request.type === 'backup') {
          const result = await runBackup(request.job, { signal: controller.signal, onProgress });
          send({ type: 'backup-done', id: request.id, result });
        } else if (request.type === 'check') {
          // Its progress counts test-block I/Os: position of total, as a percentage.
          // A drive silent for ~10 s is named as a flash's is: its target's stalledSeconds.
          const onChecked = (done: number, total: number, stalledSeconds?: number) =>
            onProgress({
              phase: 'verifying',
              position: done,
              total,
              percent: (100 * done) / total,
              speed: 0,
              effectiveSpeed: 0,
              targets: stalledSeconds === undefined ? [] : [{ path: request.path, phase: 'verifying', position: done, bytesWritten: 0, bytesVerified: 0, stalledSeconds }],
            });
          const result = await checkCapacity(request.path, { signal: controller.signal, onProgress: onChecked });
          send({ type: 'check-done', id: request.id, result });
        } else {
          const result = await runCompare(request.job, { signal: controller.signal, onProgress, full: request.full ?? false });
          send({ type: 'verify-done', id: request.id, result });
        }
      } catch (error) {
        send({ type: 'error', id: request.id, error: serializeError(error) });
      } finally {
        running.delete(request.id);
      }
    },
    cancelAll(): void {
      for (const controller of running.values()) controller.abort();
    },
  };
}
