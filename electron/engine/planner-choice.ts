// Which planner decides what gets written: everything (--full), a .bmap, or the image's own
// filesystems. Later modules register smarter planners here; the default writes everything.

import type { FlashJob } from '../../shared/flash-types';
import type { SourceReader } from './sources/source';
import { writeEverything, type WritePlanner } from './write-planner';

export type PlannerFactory = (job: FlashJob, source: SourceReader) => Promise<WritePlanner | undefined>;

const factories: PlannerFactory[] = [];

/** Factories are tried in order; the first that returns a planner wins. */
export function registerPlanner(factory: PlannerFactory): void {
  factories.push(factory);
}

export async function choosePlanner(job: FlashJob, source: SourceReader): Promise<WritePlanner> {
  if (job.options.full) return writeEverything;
  for (const factory of factories) {
    const planner = await factory(job, source);
    if (planner) return planner;
  }
  return writeEverything;
}
