// The end of a flash that failed or was cancelled: what happened, in words, and what to do next.

import type { SerializedError } from '../../shared/errors';
import { describeError } from '../../shared/errors';
import type { DriveInfo } from '../../shared/drive-types';
import type { FlashPhase, TargetResult } from '../../shared/flash-types';
import { explainFailure } from '../failure-headline';
import { driveLabel } from '../format';
import { AlertIcon, StopIcon } from './icons';

interface FailureViewProps {
  kind: 'failed' | 'cancelled';
  error: SerializedError | null;
  targets: DriveInfo[];
  results: TargetResult[];
  /** The phase the last progress event reported: a cancel while verifying left the image written whole. */
  phase: FlashPhase | undefined;
  /** The image's size when known, to tell a drive too small from one that filled up early. */
  imageSize: number | undefined;
  /** The image's path or address, for the command that verifies a drive without writing it. */
  imageLocation: string | undefined;
  /** The image written out of an archive holding several: the command must name it too. */
  imageEntry?: string | undefined;
  onRetry(): void;
  onBack(): void;
  /** Shows the flash, started elsewhere, that holds the drive (error.details.otherJob). */
  onFollow?: (jobId: string) => void;
}

export function FailureView({ kind, error, targets, results, phase, imageSize, imageLocation, imageEntry, onRetry, onBack, onFollow }: FailureViewProps) {
  const cancelled = kind === 'cancelled';
  // Cancelled while reading back: every byte of the image had been written; only the check is missing.
  const unverified = cancelled && phase === 'verifying' && error?.details?.unresponsive !== true;
  // A cancel leaves the drive half-written, unless it came before anything was written to it.
  const incomplete = unverified ? false : cancelled ? error?.details?.driveIncomplete !== false : error?.details?.driveIncomplete;
  // Cancelled with a drive that had stopped answering: it still holds a write, and must be unplugged.
  const unresponsive = cancelled && error?.details?.unresponsive === true;
  const driveOf = (path: string | undefined) => targets.find((d) => d.path === path) ?? (targets.length === 1 ? targets[0] : undefined);
  const nameOf = (path: string) => driveLabel(targets, path);
  const errorPath = typeof error?.details?.path === 'string' ? error.details.path : undefined;
  const explained = error && !cancelled ? explainFailure(error, driveOf(errorPath), imageSize) : undefined;
  // The drive is being written by a flash started in another tab or window: nothing to close or
  // unmount (the usual advice for a busy drive), and trying again at once fails the same way.
  const otherJob = typeof error?.details?.otherJob === 'string' && onFollow ? error.details.otherJob : undefined;
  const canRetry = !otherJob && (cancelled || (explained?.retryable ?? true));
  // The message itself says what to do with this very file (extract it with 7z…): no second line.
  const noFurtherAdvice = !unresponsive && !unverified && !cancelled && !otherJob && explained?.advice === '';
  // A flash to several drives speaks of them all.
  const several = targets.length > 1;
  const written = several ? 'The drives were' : 'The drive was';

  return (
    <section className={`result ${cancelled ? 'result-cancelled' : 'result-failure'}`} aria-labelledby="result-title" data-testid={cancelled ? 'flash-cancelled' : 'flash-failure'}>
      <div className="result-icon">{cancelled ? <StopIcon /> : <AlertIcon />}</div>
      <h2 id="result-title" className="result-title" tabIndex={-1}>
        {cancelled ? 'Flashing cancelled' : 'Flashing failed'}
      </h2>
      {explained?.headline && (
        <p className="result-kind" data-testid="error-kind">
          {explained.headline}
        </p>
      )}
      {explained && (
        <p className="result-error" role="alert" data-testid="error-text">
          {explained.message}
        </p>
      )}
      {unresponsive && error && (
        <p className="result-error" role="alert" data-testid="error-text">
          {error.message}
        </p>
      )}
      {unverified && (
        <p className="result-lead" data-testid="unverified">
          {written} written completely, but not verified: the check that reads {targets.length > 1 ? 'them' : 'it'} back was cancelled.
        </p>
      )}
      {incomplete && (
        <p className="result-lead">
          {several
            ? 'The drives’ contents are now incomplete and they will not boot until they are flashed again.'
            : 'The drive’s contents are now incomplete and it will not boot until it is flashed again.'}
        </p>
      )}
      {error && !noFurtherAdvice && (
        <p className="result-advice">
          <strong>What to do next: </strong>
          {unresponsive
            ? 'Unplug the drive, plug it back in (another port or reader if it keeps going silent), and flash it again.'
            : unverified
              ? (
                  <>
                    {several
                      ? 'They will probably work. To be sure they hold the image, flash them again with “Verify after writing” on, or check each without writing:'
                      : 'It will probably work. To be sure it holds the image, flash it again with “Verify after writing” on, or check it without writing:'}{' '}
                    {verifyCommands(imageLocation, imageEntry, targets).map((command) => (
                      <code key={command} className="result-command">
                        {command}
                      </code>
                    ))}
                  </>
                )
              : cancelled
                ? incomplete
                  ? several
                    ? 'Flash the drives again before using them.'
                    : 'Flash the drive again before using it.'
                  : several
                    ? 'Nothing was written to the drives: they are as they were.'
                    : 'Nothing was written to the drive: it is as it was.'
                : otherJob
                  ? `Another flash is writing ${several ? 'one of the drives' : 'the drive'}, started in another tab or window of Blockwise. Wait for it to end, then flash again; or watch it here.`
                  : (explained?.advice ?? '')}
        </p>
      )}
      {results.length > 1 && (
        <ul className="result-targets result-targets-detailed" aria-label="Drives">
          {results.map((t) => {
            const why = t.error ? explainFailure(t.error, targets.find((d) => d.path === t.path), imageSize) : undefined;
            return (
              <li key={t.path} className={t.ok ? 'target-ok' : 'target-failed'} data-drive-path={t.path}>
                <span className="result-target-name" title={nameOf(t.path)}>
                  <strong>{t.path}</strong>
                </span>
                <span className="result-target-state">{t.ok ? 'written' : (why?.headline ?? 'failed')}</span>
                {!t.ok && t.error && why && <span className="result-target-why">{describeError({ ...t.error, message: why.message }, why.advice)}</span>}
              </li>
            );
          })}
        </ul>
      )}
      <div className="result-actions">
        <button type="button" className={canRetry || otherJob ? 'button button-quiet' : 'button button-primary'} onClick={onBack}>
          Back
        </button>
        {canRetry && (
          <button type="button" className="button button-primary" onClick={onRetry}>
            Try again
          </button>
        )}
        {otherJob && onFollow && (
          <button type="button" className="button button-primary" onClick={() => onFollow(otherJob)}>
            Show that flash
          </button>
        )}
      </div>
    </section>
  );
}

/** `blockwise verify IMAGE --against DEVICE` (and the archive's `--entry`), one per drive, with the real names. */
function verifyCommands(image: string | undefined, entry: string | undefined, targets: DriveInfo[]): string[] {
  const quote = (text: string) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`);
  const drives = targets.length > 0 ? targets.map((d) => d.path) : ['DEVICE'];
  const which = entry ? ` --entry ${quote(entry)}` : '';
  return drives.map((drive) => `blockwise verify ${image ? quote(image) : 'IMAGE'}${which} --against ${quote(drive)}`);
}
