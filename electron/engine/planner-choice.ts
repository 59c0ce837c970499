// Which planner decides what gets written: everything (--full), a .bmap, or the image's own
// filesystems. Later modules register smarter planners here; the default writes everything.

import type { FlashJob } from '../../shared/flash-types';
import type { SourceReader } from './sources/source';
import { writeEverything, type WritePlanner } from './write-planner';

export type PlannerFactory = (job: FlashJob, source: SourceReader) => Promise<WritePlanner | undefined>;

const factories: Array<{ factory: PlannerFactory; priority: number }> = [];

/**
 * Factories are tried by descending priority (registration order among equals); the first that
 * returns a planner wins. A map the user or publisher supplied (.bmap, priority 100) outranks
 * what we infer from the image's filesystems (default 0), whatever order modules load in.
 */
export function registerPlanner(factory: PlannerFactory, priority = 0): void {
  const at = factories.findIndex((f) => f.priority < priority);
  factories.splice(at === -1 ? factories.length : at, 0, { factory, priority });
}

export async function choosePlanner(job: FlashJob, source: SourceReader): Promise<WritePlanner> {
  if (job.options.full) return writeEverything;
  for (const { factory } of factories) {
    const planner = await factory(job, source);
    if (planner) return planner;
  }
  return writeEverything;
}
