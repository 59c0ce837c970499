// What a capacity check found, in words: one headline and what to do, shared by the CLI and the app.

import type { CapacityCheckResult } from './flash-types';
import { formatBytes, formatBytesExact } from './format-bytes';

export interface CapacityWords {
  /** True when the drive kept everything that was written to it. */
  ok: boolean;
  headline: string;
  /** What it means for the user, and what to do. */
  detail: string;
}

export function describeCapacityCheck(result: CapacityCheckResult): CapacityWords {
  const claimed = formatBytes(result.claimed);
  const putBack = result.restored
    ? 'Its own data was put back.'
    : 'Some of its own data could not be put back where the drive failed: check its files before relying on them.';
  if (result.verdict === 'genuine') {
    return {
      ok: true,
      headline: `${result.path} kept what was written across all of its ${claimed}: no sign of fake capacity.`,
      detail:
        `${result.probes} test blocks, ${result.step >= result.claimed ? 'at its start and at its end' : `one every ${formatBytes(result.step)} and the last one`}, each read back from the drive. ${putBack} ` +
        // The check's limits (capacity-check.ts), said rather than implied away by the headline.
        `A fake that caches recent writes, or one that wraps at a size that is not a multiple of ${formatBytes(result.step)}, could still pass; every flash reads the drive back, which catches it.`,
    };
  }
  const keeps = formatBytesExact(result.keeps);
  if (result.verdict === 'wraps') {
    const to = result.wrapsTo === 0 ? 'the start of the drive' : `byte ${result.wrapsTo}`;
    return {
      ok: false,
      headline: `${result.path} is counterfeit: it claims ${claimed} but stores only ${keeps}.`,
      detail:
        `Data written from byte ${result.firstBad} on lands at ${to} instead, over what is there, so files and images larger than ${formatBytes(result.keeps)} are silently damaged. ` +
        `Return it if you can; otherwise use it only for images smaller than ${formatBytes(result.keeps)}. ${putBack}`,
    };
  }
  const how =
    result.failure === 'write-failed'
      ? 'writes fail'
      : result.failure === 'read-failed'
        ? result.unreadable
          ? 'it cannot be read at all (nothing was written there)'
          : 'what was written cannot be read back'
        : 'what is written is not kept (it reads back as other data)';
  if (result.keeps === 0) {
    return {
      ok: false,
      headline: `${result.path} did not keep a test block written at its very start: it is failing.`,
      detail: `At byte ${result.firstBad ?? 0}, ${how}. Do not use it. ${putBack}`,
    };
  }
  if (result.laterKept !== undefined) {
    return {
      ok: false,
      headline: `${result.path} failed at the test block at byte ${result.firstBad}, though blocks past it kept theirs: it has bad blocks, so it is failing.`,
      detail:
        `There, ${how}. Its capacity is not fake, but what is stored on a failing drive is at risk: copy off what you need and replace it. ` +
        `Images smaller than ${formatBytes(result.keeps)} stay clear of the bad block. ${putBack}`,
    };
  }
  return {
    ok: false,
    headline: `${result.path} keeps data only up to about ${keeps} of the ${claimed} it claims: it is counterfeit or failing.`,
    detail:
      `From about byte ${result.firstBad} on, ${how}. Files and images larger than ${formatBytes(result.keeps)} would be damaged. ` +
      `Return it if you can; otherwise use it only for images smaller than ${formatBytes(result.keeps)}. ${putBack}`,
  };
}
