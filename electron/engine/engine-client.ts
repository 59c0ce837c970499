// The hosts' handle on the engine: start a flash or a verify, get progress, cancel, await the result.
// Transport-agnostic: a worker thread here, an elevated helper process elsewhere.

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BlockwiseError, deserializeError, type ErrorDetails, type SerializedError } from '../../shared/errors';
import type { BackupJob, BackupResult, CapacityCheckResult, FlashJob, FlashProgress, FlashResult, VerifyJob, VerifyResult } from '../../shared/flash-types';
import type { EngineEvent, EngineRequest, EngineTransport } from './protocol';
import { atMost } from './targets/io-watch';

export interface RunningJob<T> {
  id: number;
  result: Promise<T>;
  cancel(): void;
}

interface Pending {
  /** What was asked: a flash and a verify speak of drives written; a check or a backup does not. */
  kind: EngineRequest['type'];
  onProgress: (progress: FlashProgress) => void;
  /** The drives the latest progress said were not answering. */
  silent: SilentDrive[];
  resolve: (value: FlashResult | VerifyResult | CapacityCheckResult | BackupResult) => void;
  reject: (error: Error) => void;
}

/**
 * How long a cancelled job's engine may take to answer. It ends a cancel within ~2 s even with a
 * drive that stopped answering (io-watch.ts); one that stays silent is itself stuck — a
 * synchronous read of an image on a network share that stopped answering holds its thread — and
 * the job is ended here instead of leaving "Cancelling…" up for good.
 */
export const CANCEL_ANSWER_MS = 10_000;

/** A drive that was not answering when its job was cancelled, and whether it was being read back. */
export interface SilentDrive {
  path: string;
  reading: boolean;
}

/**
 * The drives a progress event says are not answering (TargetProgress.stalledSeconds), given those
 * the one before said were. A silent drive stays silent once its cancel marks it failed (no longer
 * counted as stalled); only one seen working again, or failing with its own error, answered.
 */
export function silentDrives(progress: FlashProgress, before: SilentDrive[] = []): SilentDrive[] {
  const silent: SilentDrive[] = [];
  for (const t of progress.targets) {
    const was = before.find((d) => d.path === t.path);
    if (t.stalledSeconds !== undefined) silent.push({ path: t.path, reading: t.phase === 'verifying' });
    else if (was && t.error?.code === 'CANCELLED') silent.push(was);
  }
  return silent;
}

/**
 * Words for a cancel that drives did not answer: each named, to be unplugged, and what it holds
 * now. `stuckSeconds`: the engine itself did not stop within that time. With no drive known, the
 * image or the drives in general.
 */
export function silentCancelMessage(silent: SilentDrive[], stuckSeconds?: number): string {
  if (silent.length === 0) {
    return `The flash was cancelled, but the engine did not stop within ${stuckSeconds ?? Math.round(CANCEL_ANSWER_MS / 1000)} s: it is waiting on the image or a drive that does not answer (a network share or a drive that stopped responding). Unplug the drives, and flash them again before using them.`;
  }
  const opening = stuckSeconds === undefined ? 'The flash was cancelled.' : `The flash was cancelled, but the engine did not stop within ${stuckSeconds} s.`;
  return [opening, ...silent.map(silentDriveSentence)].join(' ');
}

/** One silent drive of a cancel: which, that it is to be unplugged, and what it holds now. */
export function silentDriveSentence(drive: SilentDrive): string {
  return drive.reading
    ? `${drive.path} is not responding and did not finish reading back what was written: unplug it; that data was not verified, so flash it again before trusting it.`
    : `${drive.path} is not responding and still has a write pending: unplug it; it is incomplete, so flash it again before using it.`;
}

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

  /** Checks a drive for fake capacity (capacity-check.ts); progress counts its test-block I/Os. */
  check(drivePath: string, onProgress: (progress: FlashProgress) => void = () => {}): RunningJob<CapacityCheckResult> {
    return this.start({ type: 'check', id: this.nextId++, path: drivePath }, onProgress) as unknown as RunningJob<CapacityCheckResult>;
  }

  /** Backs a drive up to an image file (backup.ts); progress as for a flash, then 'verifying'. */
  backup(job: BackupJob, onProgress: (progress: FlashProgress) => void = () => {}): RunningJob<BackupResult> {
    return this.start({ type: 'backup', id: this.nextId++, job }, onProgress) as unknown as RunningJob<BackupResult>;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private start(request: Extract<EngineRequest, { type: 'flash' | 'verify' | 'check' | 'backup' }>, onProgress: (progress: FlashProgress) => void) {
    const result = new Promise<FlashResult | VerifyResult | CapacityCheckResult | BackupResult>((resolve, reject) => {
      this.pending.set(request.id, { kind: request.type, onProgress, silent: [], resolve, reject });
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
    if (p.kind === 'backup' || p.kind === 'check') {
      // The drive was only read (a backup), or holds test blocks whose own bytes may not be back (a check).
      const what = p.kind === 'backup' ? 'The backup was cancelled' : 'The capacity check was cancelled';
      const after =
        p.kind === 'backup'
          ? 'The drive was only read; if an unfinished .partial file is left beside the backup, delete it.'
          : 'Some of its test blocks may still be on it instead of its own data: check its files before relying on them.';
      p.reject(new BlockwiseError('CANCELLED', `${what}, but the engine did not stop within ${seconds} s: it is waiting on a drive that does not answer. Unplug the drive. ${after}`, { unresponsive: true }));
      this.transport.close().catch(() => undefined);
      return;
    }
    if (p.kind === 'verify') {
      const drive = p.silent[0] ? `${p.silent[0].path} is not responding: unplug it.` : 'It is waiting on the image or a drive that does not answer (a network share, or a drive that stopped responding): unplug the drive.';
      p.reject(new BlockwiseError('CANCELLED', `Verification was cancelled, but the engine did not stop within ${seconds} s. ${drive} Nothing was written to it.`, { driveIncomplete: false, unresponsive: true }));
      this.transport.close().catch(() => undefined);
      return;
    }
    const details: ErrorDetails = { driveIncomplete: true, unresponsive: true };
    if (p.silent[0]) details.path = p.silent[0].path;
    p.reject(new BlockwiseError('CANCELLED', silentCancelMessage(p.silent, seconds), details));
    this.transport.close().catch(() => undefined);
  }

  private dispatch(event: EngineEvent): void {
    const p = this.pending.get(event.id);
    if (!p) return;
    switch (event.type) {
      case 'progress':
        p.silent = silentDrives(event.progress, p.silent);
        p.onProgress(event.progress);
        return;
      case 'flash-done':
      case 'verify-done':
      case 'check-done':
      case 'backup-done':
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
