// The end of a good flash: how long it took, how fast, whether the drive was read back and
// matched, and the image's SHA-256 for anyone who wants to compare by hand.

import type { FlashResult } from '../../shared/flash-types';
import type { DriveInfo } from '../../shared/drive-types';
import { driveLabel, driveTitle, formatBytes, formatDuration, formatSpeed } from '../format';
import { CheckIcon } from './icons';

interface SuccessViewProps {
  result: FlashResult;
  imageName: string;
  /** The image came from a URL (names the stored bytes' hash "Download"). */
  downloaded: boolean;
  targets: DriveInfo[];
  onAgain(): void;
}

export function SuccessView({ result, imageName, downloaded, targets, onAgain }: SuccessViewProps) {
  // Every drive was written: a flash where some failed is shown by PartialView.
  const verified = result.targets.every((t) => t.verified);
  const seconds = result.durationMs / 1000;
  const nameOf = (path: string) => driveLabel(targets, path);

  return (
    <section className="result result-success" aria-labelledby="result-title" data-testid="flash-success">
      <div className="result-icon">
        <CheckIcon />
      </div>
      <h2 id="result-title" className="result-title" tabIndex={-1}>
        Flash complete!
      </h2>
      <p className="result-lead">
        {imageName} was written to {result.targets.length === 1 ? nameOf(result.targets[0]?.path ?? '') : `${result.targets.length} drives`}.
      </p>
      <dl className="result-facts">
        <div>
          <dt>Time</dt>
          <dd>{formatDuration(seconds)}</dd>
        </div>
        {seconds > 0 && (
          <div>
            <dt>Average speed</dt>
            <dd>{formatSpeed(result.imageSize / seconds)}</dd>
          </div>
        )}
        <div>
          <dt>Written</dt>
          <dd>
            {formatBytes(result.mappedBytes)} of {formatBytes(result.imageSize)}
          </dd>
        </div>
        <div>
          <dt>Verification</dt>
          <dd data-testid="verify-result">{verified ? 'Read back and matched' : 'Skipped (turned off in Settings)'}</dd>
        </div>
        {result.checksumVerified !== undefined && (
          <div>
            <dt>Checksum</dt>
            <dd data-testid="checksum-result">{result.checksumVerified ? `Checksum matches${result.checksumPublishedIn ? ` (${result.checksumPublishedIn.split(/[\\/]/).pop()})` : ''}` : 'Not checked'}</dd>
          </div>
        )}
      </dl>
      {result.imageSha256 && (
        <div className="result-hash">
          <span className="result-hash-label">Image SHA-256</span>
          <code data-testid="image-sha256">{result.imageSha256}</code>
        </div>
      )}
      {result.fileSha256 && result.fileSha256 !== result.imageSha256 && (
        <div className="result-hash">
          <span className="result-hash-label">{downloaded ? 'Download' : 'File'} SHA-256</span>
          <code data-testid="file-sha256">{result.fileSha256}</code>
        </div>
      )}
      {result.sha256Unavailable && (
        <p className="inline-notice" data-testid="sha256-unavailable">
          No SHA-256 to show: {result.sha256Unavailable} The drive itself was written{verified ? ' and checked' : ''}.
        </p>
      )}
      {result.targets.length > 1 && (
        <ul className="result-targets" aria-label="Drives">
          {result.targets.map((t) => {
            const drive = targets.find((d) => d.path === t.path);
            return (
              <li key={t.path} className="target-ok">
                <span className="result-target-name" title={drive ? driveTitle(drive) : t.path}>
                  <strong>{t.path}</strong> {drive && <span className="result-target-model">{driveTitle(drive)}</span>}
                </span>
                <span className="result-target-state">{t.verified ? 'written and verified' : 'written'}</span>
              </li>
            );
          })}
        </ul>
      )}
      {result.targets.some((t) => t.ejected) && (
        <p className="inline-notice" data-testid="ejected">
          {result.targets.length === 1 ? 'The drive was ejected: it is safe to unplug.' : `Ejected, safe to unplug: ${result.targets.filter((t) => t.ejected).map((t) => nameOf(t.path)).join(', ')}.`}
        </p>
      )}
      {result.targets
        .filter((t) => t.ejectError)
        .map((t) => (
          <p key={t.path} className="inline-warning" role="alert" data-testid="eject-failed">
            {t.ejectError}
          </p>
        ))}
      <button type="button" className="button button-primary" onClick={onAgain}>
        Flash another
      </button>
    </section>
  );
}
