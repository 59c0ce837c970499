// What happens to a drive around a flash beyond writing bytes: unmount and identity re-check
// before opening, partition-table re-read and eject after. The engine stays free of the drives
// layer; composition roots (worker, helper) register the real implementation here.

import type { TargetSpec } from '../../shared/flash-types';

export interface TargetFinishOptions {
  /** Eject / power off the drive (the user's "eject when done" setting). */
  eject: boolean;
}

export interface TargetLifecycle {
  /** Before the target is opened: make it writable (unmount) and prove it is still the chosen drive. Throws to refuse. */
  prepare(spec: TargetSpec): Promise<void>;
  /** After a successful write (and verify), once the target is closed. Must not throw for cosmetic failures. */
  finish(spec: TargetSpec, options: TargetFinishOptions): Promise<void>;
}

const noLifecycle: TargetLifecycle = {
  prepare: async () => undefined,
  finish: async () => undefined,
};

let current: TargetLifecycle = noLifecycle;

/** Replaces the lifecycle (last registration wins); returns a function restoring the previous one. */
export function registerTargetLifecycle(lifecycle: TargetLifecycle): () => void {
  const previous = current;
  current = lifecycle;
  return () => {
    current = previous;
  };
}

export function targetLifecycle(): TargetLifecycle {
  return current;
}
