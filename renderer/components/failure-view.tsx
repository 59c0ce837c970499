// The end of a flash that failed or was cancelled: what happened, in words, and what to do next.

import type { SerializedError } from '../../shared/errors';
import { ERROR_ADVICE } from '../../shared/errors';
import type { DriveInfo } from '../../shared/drive-types';
import type { TargetResult } from '../../shared/flash-types';
import { failureHeadline } from '../failure-headline';
import { driveTitle } from '../format';
import { AlertIcon, StopIcon } from './icons';

interface FailureViewProps {
  kind: 'failed' | 'cancelled';
  error: SerializedError | null;
  targets: DriveInfo[];
  results: TargetResult[];
  onRetry(): void;
  onBack(): void;
}

export function FailureView({ kind, error, targets, results, onRetry, onBack }: FailureViewProps) {
  const cancelled = kind === 'cancelled';
  // A cancel leaves the drive half-written, unless it came before anything was written to it.
  const incomplete = cancelled ? error?.details?.driveIncomplete !== false : error?.details?.driveIncomplete;
  // Cancelled with a drive that had stopped answering: it still holds a write, and must be unplugged.
  const unresponsive = cancelled && error?.details?.unresponsive === true;
  const nameOf = (path: string) => {
    const drive = targets.find((d) => d.path === path);
    return drive ? `${driveTitle(drive)} (${path})` : path;
  };
  return (
    <section className={`result ${cancelled ? 'result-cancelled' : 'result-failure'}`} aria-labelledby="result-title" data-testid={cancelled ? 'flash-cancelled' : 'flash-failure'}>
      <div className="result-icon">{cancelled ? <StopIcon /> : <AlertIcon />}</div>
      <h2 id="result-title" className="result-title" tabIndex={-1}>
        {cancelled ? 'Flashing cancelled' : 'Flashing failed'}
      </h2>
      {!cancelled && error && failureHeadline(error.code) && (
        <p className="result-kind" data-testid="error-kind">
          {failureHeadline(error.code)}
        </p>
      )}
      {(!cancelled || unresponsive) && error && (
        <p className="result-error" role="alert" data-testid="error-text">
          {error.message}
        </p>
      )}
      {incomplete && <p className="result-lead">The drive’s contents are now incomplete and it will not boot until it is flashed again.</p>}
      {error && (
        <p className="result-advice">
          <strong>What to do next: </strong>
          {unresponsive
            ? 'Unplug the drive, plug it back in (another port or reader if it keeps going silent), and flash it again.'
            : cancelled
              ? incomplete
                ? 'Flash the drive again before using it.'
                : 'Nothing was written to the drive: it is as it was.'
              : (ERROR_ADVICE[error.code] ?? ERROR_ADVICE.INTERNAL)}
        </p>
      )}
      {results.length > 1 && (
        <ul className="result-targets" aria-label="Drives">
          {results.map((t) => (
            <li key={t.path} className={t.ok ? 'target-ok' : 'target-failed'}>
              <span className="result-target-name" title={nameOf(t.path)}>
                <strong>{t.path}</strong>
              </span>
              <span className="result-target-state">{t.ok ? 'written' : (t.error?.message ?? 'failed')}</span>
            </li>
          ))}
        </ul>
      )}
      <div className="result-actions">
        <button type="button" className="button button-quiet" onClick={onBack}>
          Back
        </button>
        <button type="button" className="button button-primary" onClick={onRetry}>
          Try again
        </button>
      </div>
    </section>
  );
}
