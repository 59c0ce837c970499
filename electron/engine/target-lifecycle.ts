// What happens to a drive around a flash beyond writing bytes: unmount and identity re-check
// before opening, partition-table re-read and eject after. The engine stays free of the drives
// layer; composition roots (worker, helper) register the real implementation here.

import type { TargetSpec } from '../../shared/flash-types';

export interface TargetFinishOptions {
  /** Eject / power off the drive (the user's "eject when done" setting). */
  eject: boolean;
}

/** What finishing a drive did that its user should hear of (see TargetResult). */
export interface TargetFinish {
  /** It was ejected (powered off): safe to unplug. */
  ejected?: boolean;
  /** Ejecting it failed: why, and to eject it by hand before unplugging. */
  ejectError?: string;
}

export interface TargetLifecycle {
  /** Before the target is opened: make it writable (unmount) and prove it is still the chosen drive. Throws to refuse. */
  prepare(spec: TargetSpec): Promise<void>;
  /** After a successful write (and verify), once the target is closed. Must not throw for cosmetic failures: it reports them. */
  finish(spec: TargetSpec, options: TargetFinishOptions): Promise<TargetFinish | void>;
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
