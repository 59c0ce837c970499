// The engine's typed message protocol. The same messages travel over a worker_threads port (app,
// browser host, CLI) and as JSON lines over an elevated helper's stdio, so both are interchangeable.

import type { SerializedError } from '../../shared/errors';
import type { BackupJob, BackupResult, CapacityCheckResult, FlashJob, FlashProgress, FlashResult, VerifyJob, VerifyResult } from '../../shared/flash-types';

export type EngineRequest =
  | { type: 'flash'; id: number; job: FlashJob }
  | { type: 'verify'; id: number; job: VerifyJob; full?: boolean }
  | { type: 'check'; id: number; path: string }
  | { type: 'backup'; id: number; job: BackupJob }
  | { type: 'cancel'; id: number };

export type EngineEvent =
  | { type: 'progress'; id: number; progress: FlashProgress }
  | { type: 'flash-done'; id: number; result: FlashResult }
  | { type: 'verify-done'; id: number; result: VerifyResult }
  | { type: 'check-done'; id: number; result: CapacityCheckResult }
  | { type: 'backup-done'; id: number; result: BackupResult }
  | { type: 'error'; id: number; error: SerializedError };

/** Anything that can carry engine messages: a worker port, a helper's stdio, a test double. */
export interface EngineTransport {
  send(request: EngineRequest): void;
  onEvent(listener: (event: EngineEvent) => void): void;
  /** Called if the other side dies without a reply (worker crash, helper killed). */
  onExit(listener: (error: SerializedError) => void): void;
  close(): Promise<void>;
}
