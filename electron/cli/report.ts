// How a flash or verify ends, in words or JSON: the summary of a flash, and errors with the advice
// that fits this command (--entry rather than a click, a file's filesystem rather than a card's
// lock switch, the drive that stopped answering named). A run where any target failed says so last:
// nothing that reads as success comes after, or instead of, its failure.

import { describeError, type SerializedError, type TargetNoun } from '../../shared/errors';
import type { FlashResult, TargetResult } from '../../shared/flash-types';
import { formatBytes } from '../../shared/format-bytes';
import { silentCancelMessage, silentDriveSentence, type SilentDrive } from '../engine/engine-client';
import { fileTargetAdvice } from './file-advice';
import { isImageFileTarget } from './targets';
import { formatDuration } from './terminal';

export function emitJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

export interface ReportOptions {
  /** Replaces the advice ('' when the message already says what to do). */
  advice?: string;
  /** How many targets the job had: the words for a state shared by several say "drives". */
  targetCount?: number;
}

/** The noun for the state of what `error` concerns: the image file, the drive, or the drives. */
function nounFor(error: SerializedError, targetCount: number): TargetNoun {
  if (isImageFileTarget(error.details?.path)) return 'file';
  // A cancel stops every drive of the job, not only the one its error names.
  return error.code === 'CANCELLED' && targetCount > 1 ? 'drives' : 'drive';
}

/** What the app does with a click, or says for a drive, said in this command's terms (in place of the app's advice). */
export function cliAdvice(error: SerializedError): string | undefined {
  const entries = error.details?.entries;
  if (error.code === 'ARCHIVE_AMBIGUOUS' && typeof entries === 'string') {
    return `Choose one with --entry, e.g. --entry ${JSON.stringify(entries.split('\n')[0])}.`;
  }
  if (error.code === 'BMAP_INVALID') {
    return error.details?.newer === true
      ? 'Update Blockwise, or flash without the block map: add --no-bmap.'
      : 'Delete it or download it again, or flash without it: add --no-bmap.';
  }
  // The image's own disk failed a read: the message says what to do; "check that the image file
  // exists and that you may read it" would send the person to look at the wrong thing.
  if (error.code === 'SOURCE_UNREADABLE' && error.details?.syscode === 'EIO') return '';
  // A cancel a drive did not answer names it and says to unplug it, and what to do after.
  if (error.code === 'CANCELLED' && error.details?.unresponsive === true) return '';
  const file = error.details?.path;
  if (file !== undefined && isImageFileTarget(file)) return fileTargetAdvice(error, file);
  return undefined;
}

export function describeForCli(error: SerializedError, options: ReportOptions = {}): string {
  return describeError(error, options.advice ?? cliAdvice(error), nounFor(error, options.targetCount ?? 1));
}

export function reportError(error: SerializedError, json: boolean, options: ReportOptions = {}): void {
  if (json) emitJson({ type: 'error', error });
  else process.stderr.write(`\nError: ${describeForCli(error, options)}\n`);
}

/**
 * A cancelled flash whose error does not name every drive the latest progress said was silent —
 * with several drives the engine reports the first drive's plain "cancelled" — gets them named,
 * with the drives that were merely stopped. Other errors are returned as they are.
 */
export function nameSilentDrives(error: SerializedError, silent: SilentDrive[], targets: string[]): SerializedError {
  if (error.code !== 'CANCELLED' || silent.length === 0) return error;
  const unnamed = silent.filter((d) => !error.message.includes(d.path));
  if (unnamed.length === 0) return error;
  const named = error.details?.unresponsive === true;
  const stopped = targets.filter((t) => !silent.some((d) => d.path === t) && !error.message.includes(t));
  const words = [named ? [error.message, ...unnamed.map(silentDriveSentence)].join(' ') : silentCancelMessage(silent)];
  if (stopped.length > 0) {
    const one = stopped.length === 1;
    words.push(`${stopped.join(', ')} ${one ? 'was' : 'were'} stopped as well: flash ${one ? 'it' : 'them'} again before using ${one ? 'it' : 'them'}.`);
  }
  return {
    code: 'CANCELLED',
    message: words.join(' '),
    // Incomplete where a write may have been cut short: a drive silent on a write, or stopped with
    // it; one silent while reading back holds what was written, unchecked.
    details: { ...error.details, path: silent[0]!.path, driveIncomplete: error.details?.driveIncomplete === true || stopped.length > 0 || silent.some((d) => !d.reading), unresponsive: true },
  };
}

function targetLine(t: TargetResult, verify: boolean, targetCount: number): string {
  if (t.ok) return `${t.path}: ${verify ? 'written and verified' : 'written (not verified)'}`;
  return `${t.path}: FAILED: ${describeForCli(t.error!, { targetCount })}`;
}

/**
 * The flash's summary on stderr; with a failed target, it ends in an Error line and claims nothing
 * as done. A .bmap that chose what was written (result.blockMap) is named for what it left out.
 */
export function printFlashSummary(result: FlashResult, verify: boolean): void {
  const bmapPath = result.blockMap;
  const failed = result.targets.filter((t) => !t.ok);
  const lines = ['', result.imageSha256 ? `Image: ${formatBytes(result.imageSize)}, SHA-256 ${result.imageSha256}` : `Image: ${formatBytes(result.imageSize)}`];
  if (result.fileSha256 && result.fileSha256 !== result.imageSha256) lines.push(`File as stored: SHA-256 ${result.fileSha256}`);
  if (result.sha256Unavailable) lines.push(`SHA-256 not shown: ${result.sha256Unavailable} The drive itself was written${verify ? ' and checked' : ''}.`);
  if (failed.length === 0) {
    const seconds = result.durationMs / 1000;
    lines.push(
      result.mappedBytes < result.imageSize
        ? `Wrote ${formatBytes(result.mappedBytes)} of ${formatBytes(result.imageSize)} (${bmapPath ? `the rest is not mapped in its block map ${bmapPath}` : 'the rest is unused filesystem space'})`
        : `Wrote ${formatBytes(result.mappedBytes)}`,
      `Took ${formatDuration(seconds)} (${formatBytes(result.imageSize / Math.max(seconds, 0.001))}/s effective)`,
    );
  }
  if (result.checksumVerified) lines.push(`Checksum: matches ${result.checksumPublishedIn ? `the SHA-256 published in ${result.checksumPublishedIn}` : 'the SHA-256 given'}`);
  else lines.push('Checksum: none published beside the image (give one with --sha256 to have the download checked)');
  for (const t of result.targets) lines.push(targetLine(t, verify, result.targets.length));
  if (failed.length > 0) {
    const which = failed.map((t) => t.path).join(', ');
    lines.push('', `Error: the flash failed on ${which} (${failed.length} of ${result.targets.length} targets); see above for why and what to do.`);
  }
  process.stderr.write(lines.join('\n') + '\n');
}

/**
 * The last JSON line of a flash that returned a result: `done` only when every target was written
 * (and verified); otherwise `error`, carrying the first failed target's error, and the whole
 * result with every target's outcome.
 */
export function flashOutcomeJson(result: FlashResult): { type: 'done'; result: FlashResult } | { type: 'error'; error: SerializedError; result: FlashResult } {
  const failed = result.targets.find((t) => !t.ok);
  if (!failed) return { type: 'done', result };
  const error = failed.error ?? { code: 'INTERNAL', message: `${failed.path} failed, and no reason was given.`, details: { path: failed.path } };
  return { type: 'error', error, result };
}
