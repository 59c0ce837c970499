// The hosts' handle on the engine: start a flash or a verify, get progress, cancel, await the result.
// Transport-agnostic: a worker thread here, an elevated helper process elsewhere.

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BlockwiseError, deserializeError, type SerializedError } from '../../shared/errors';
import type { FlashJob, FlashProgress, FlashResult, VerifyJob, VerifyResult } from '../../shared/flash-types';
import type { EngineEvent, EngineRequest, EngineTransport } from './protocol';
import { atMost } from './targets/io-watch';

export interface RunningJob<T> {
  id: number;
  result: Promise<T>;
  cancel(): void;
}

interface Pending {
  onProgress: (progress: FlashProgress) => void;
  resolve: (value: FlashResult | VerifyResult) => void;
  reject: (error: Error) => void;
}

/**
 * How long a cancelled job's engine may take to answer. It ends a cancel within ~2 s even with a
 * drive that stopped answering (io-watch.ts); one that stays silent is itself stuck — a
 * synchronous read of an image on a network share that stopped answering holds its thread — and
 * the job is ended here instead of leaving "Cancelling…" up for good.
 */
export const CANCEL_ANSWER_MS = 10_000;

export interface EngineClientOptions {
  cancelAnswerMs?: number;
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly cancelAnswerMs: number;

  constructor(
    private readonly transport: EngineTransport,
    options: EngineClientOptions = {},
  ) {
    this.cancelAnswerMs = options.cancelAnswerMs ?? CANCEL_ANSWER_MS;
    transport.onEvent((event) => this.dispatch(event));
    transport.onExit((error) => {
      for (const [id, p] of this.pending) {
        p.reject(deserializeError(error));
        this.pending.delete(id);
      }
    });
  }

  flash(job: FlashJob, onProgress: (progress: FlashProgress) => void = () => {}): RunningJob<FlashResult> {
    return this.start({ type: 'flash', id: this.nextId++, job }, onProgress) as RunningJob<FlashResult>;
  }

  verify(job: VerifyJob, onProgress: (progress: FlashProgress) => void = () => {}, full = false): RunningJob<VerifyResult> {
    return this.start({ type: 'verify', id: this.nextId++, job, full }, onProgress) as RunningJob<VerifyResult>;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private start(request: Extract<EngineRequest, { type: 'flash' | 'verify' }>, onProgress: (progress: FlashProgress) => void) {
    const result = new Promise<FlashResult | VerifyResult>((resolve, reject) => {
      this.pending.set(request.id, { onProgress, resolve, reject });
    });
    this.transport.send(request);
    const cancel = () => {
      this.transport.send({ type: 'cancel', id: request.id });
      setTimeout(() => this.giveUp(request.id), this.cancelAnswerMs).unref();
    };
    return { id: request.id, result, cancel };
  }

  /** Ends a cancelled job whose engine never answered, and lets that engine go (see CANCEL_ANSWER_MS). */
  private giveUp(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    const seconds = Math.round(this.cancelAnswerMs / 1000);
    p.reject(
      new BlockwiseError(
        'CANCELLED',
        `The flash was cancelled, but the engine did not stop within ${seconds} s: it is waiting on the image or a drive that does not answer (a network share or a drive that stopped responding). Unplug the drives, and flash them again before using them.`,
        { driveIncomplete: true, unresponsive: true },
      ),
    );
    this.transport.close().catch(() => undefined);
  }

  private dispatch(event: EngineEvent): void {
    const p = this.pending.get(event.id);
    if (!p) return;
    switch (event.type) {
      case 'progress':
        p.onProgress(event.progress);
        return;
      case 'flash-done':
      case 'verify-done':
        this.pending.delete(event.id);
        p.resolve(event.result);
        return;
      case 'error':
        this.pending.delete(event.id);
        p.reject(deserializeError(event.error));
        return;
    }
  }
}

/** Runs the engine in a worker thread of this process. */
export function workerTransport(workerPath = path.join(__dirname, 'worker.js')): EngineTransport {
  const worker = new Worker(workerPath);
  const exitListeners: Array<(error: SerializedError) => void> = [];
  let closing = false;
  const died = (message: string) => {
    if (closing) return;
    const error = new BlockwiseError('INTERNAL', `The flash engine stopped unexpectedly: ${message}`, { driveIncomplete: true }).toJSON();
    for (const l of exitListeners) l(error);
  };
  worker.on('error', (error) => died(error.message));
  worker.on('exit', (code) => died(`exit code ${code}`));
  return {
    send: (request) => worker.postMessage(request),
    onEvent: (listener) => worker.on('message', listener),
    onExit: (listener) => exitListeners.push(listener),
    close: async () => {
      closing = true;
      // A worker stuck in a system call (a read from a share that stopped answering) ends only when
      // that call returns: it is not waited on past 2 s, nor does it keep the process alive.
      await atMost(worker.terminate(), 2000);
      worker.unref();
    },
  };
}
