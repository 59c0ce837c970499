// The end of a flash to several drives where some were written and others failed: neither a
// success (a failed drive will not boot) nor a failure (the others are ready). Each drive says
// what became of it, and each failed one why, and what to do about it.

import { describeError } from '../../shared/errors';
import type { DriveInfo } from '../../shared/drive-types';
import type { FlashResult } from '../../shared/flash-types';
import { explainFailure } from '../failure-headline';
import { driveLabel, driveTitle } from '../format';
import { AlertIcon } from './icons';

interface PartialViewProps {
  result: FlashResult;
  imageName: string;
  targets: DriveInfo[];
  onAgain(): void;
  /** Flashes the failed drives again; absent when no failure was one another try could mend. */
  onRetryFailed?: () => void;
}

export function PartialView({ result, imageName, targets, onAgain, onRetryFailed }: PartialViewProps) {
  const ok = result.targets.filter((t) => t.ok);
  const failed = result.targets.filter((t) => !t.ok);
  const driveOf = (path: string) => targets.find((d) => d.path === path);
  const nameOf = (path: string) => driveLabel(targets, path);
  const list = (paths: string[]) => paths.map(nameOf).join(', ');

  return (
    <section className="result result-partial" aria-labelledby="result-title" data-testid="flash-partial">
      <div className="result-icon">
        <AlertIcon />
      </div>
      <h2 id="result-title" className="result-title" tabIndex={-1}>
        {`Flashed ${ok.length} of ${result.targets.length} drives`}
      </h2>
      <p className="result-lead">
        {imageName} was written to {list(ok.map((t) => t.path))}. {failed.length === 1 ? 'One drive' : `${failed.length} drives`} failed and will not
        boot until {failed.length === 1 ? 'it is' : 'they are'} flashed again.
      </p>
      <ul className="result-targets result-targets-detailed" aria-label="Drives">
        {result.targets.map((t) => {
          const drive = driveOf(t.path);
          const why = t.error ? explainFailure(t.error, drive, result.imageSize) : undefined;
          return (
            <li key={t.path} className={t.ok ? 'target-ok' : 'target-failed'} data-drive-path={t.path}>
              <span className="result-target-name">
                <strong>{t.path}</strong> {drive && <span className="result-target-model">{driveTitle(drive)}</span>}
              </span>
              <span className="result-target-state">
                {t.ok ? (t.verified ? 'Written and verified' : 'Written (not verified)') : (why?.headline ?? 'Failed')}
              </span>
              {!t.ok && (
                <span className="result-target-why">
                  {t.error && why ? describeError({ ...t.error, message: why.message }, why.advice) : 'No reason was given.'}
                </span>
              )}
            </li>
          );
        })}
      </ul>
      <div className="result-actions">
        {onRetryFailed && (
          <button type="button" className="button button-primary" onClick={onRetryFailed}>
            {failed.length === 1 ? 'Flash the failed drive again' : `Flash the ${failed.length} failed drives again`}
          </button>
        )}
        <button type="button" className={onRetryFailed ? 'button button-quiet' : 'button button-primary'} onClick={onAgain}>
          Flash another
        </button>
      </div>
    </section>
  );
}
