// Progress while flashing: phase, a smooth bar, percent, speed, time left, one row per drive when
// there are several, and a cancel button that asks first.

import { useEffect, useRef } from 'react';
import { usableModel } from '../../shared/drive-name';
import type { FlashProgress } from '../../shared/flash-types';
import { formatBytes, formatEta, formatPercent, formatSpeed } from '../format';
import type { FlashPhase } from '../../shared/flash-types';
import { useFlash } from '../store/use-stores';
import { ProgressBar } from './progress-bar';

const PHASE_LABEL: Record<FlashPhase, string> = {
  starting: 'Starting',
  writing: 'Writing',
  finishing: 'Finishing',
  verifying: 'Verifying',
  done: 'Done',
};

export function FlashProgressView() {
  const status = useFlash((s) => s.status);
  const progress = useFlash((s) => s.progress);
  const targets = useFlash((s) => s.targets);
  const imageUrl = useFlash((s) => s.image?.url);
  const downloading = imageUrl !== undefined;
  const requestCancel = useFlash((s) => s.requestCancel);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const phase = progress?.phase ?? 'starting';
  const label = status === 'cancelling' ? 'Cancelling' : PHASE_LABEL[phase];
  const percent = progress?.percent ?? 0;
  // Drives that stopped answering (the engine says so after ~10 s of silence): named, not guessed at.
  const silent = (progress?.targets ?? []).filter((t) => t.stalledSeconds !== undefined);
  const driveName = (path: string) => {
    const drive = targets.find((d) => d.path === path);
    const model = drive ? usableModel(drive.model) : undefined;
    return model ? `${model} (${path})` : path;
  };

  // Flash! was replaced by this view, taking the keyboard focus with it: Cancel is the one thing
  // to do now. (Only when the focus was lost, or sits on a button the flash has just disabled, as
  // after "Show that flash": a tab that rejoined a flash keeps its own.)
  useEffect(() => {
    const active = document.activeElement;
    if (!active || active === document.body || active.matches(':disabled')) cancelRef.current?.focus();
  }, []);

  // The window title carries the progress, so it shows in the taskbar or a background tab.
  useEffect(() => {
    document.title = `${formatPercent(percent)} ${label.toLowerCase()} · Blockwise`;
  }, [percent, label]);
  useEffect(
    () => () => {
      document.title = 'Blockwise';
    },
    [],
  );

  return (
    <div className="progress" data-testid="flash-progress" data-phase={phase}>
      <div className="progress-head">
        <span className={`progress-phase phase-${phase}`}>{label}…</span>
        {progress?.percent === undefined && progress && progress.position > 0 ? (
          // Neither the image's nor the download's size is known: how much is done is all there is.
          <span className="progress-percent" data-testid="flash-written">
            {formatBytes(progress.position)}
          </span>
        ) : (
          <span className="progress-percent" data-testid="flash-percent">
            {formatPercent(percent)}
          </span>
        )}
      </div>
      <ProgressBar label={`${label}: ${formatPercent(percent)}`} percent={percent} tone={phase === 'verifying' ? 'verify' : 'write'} />
      <p className="progress-stats" data-testid="progress-stats">
        {stats(progress, imageUrl).flatMap((part, i) => [
          ...(i > 0 ? [<span key={`dot-${i}`} aria-hidden="true">·</span>] : []),
          <span key={part}>{part}</span>,
        ])}
      </p>
      {silent.length > 0 && (
        <p className="inline-warning stall-notice" role="status" data-testid="stall-notice">
          {silent.map((t) => `${driveName(t.path)} has not responded for ${t.stalledSeconds} s.`).join(' ')} Still waiting: some cards pause
          for a while. If it stays silent, cancel and try another port, reader or card.
        </p>
      )}
      {progress?.reconnecting && (
        <p className="inline-warning stall-notice" role="status" data-testid="reconnect-notice">
          The download broke off at {formatBytes(progress.reconnecting.atByte)} ({progress.reconnecting.reason}). Reconnecting to pick it up
          where it stopped: attempt {progress.reconnecting.attempt} of {progress.reconnecting.attempts}.
        </p>
      )}
      {downloading && progress?.sourcePosition !== undefined && (
        <div className="progress-source" data-testid="download-progress">
          <span>
            Downloaded {formatBytes(progress.sourcePosition)}
            {progress.sourceTotal ? ` of ${formatBytes(progress.sourceTotal)}` : ''}
          </span>
          {progress.sourceTotal ? (
            <ProgressBar label={`Download: ${formatPercent((progress.sourcePosition / progress.sourceTotal) * 100)}`} percent={(progress.sourcePosition / progress.sourceTotal) * 100} tone="verify" thin />
          ) : null}
        </div>
      )}
      {targets.length > 1 && progress && (
        <ul className="target-progress" aria-label="Drives">
          {targets.map((drive) => {
            const row = progress.targets.find((t) => t.path === drive.path);
            const total = progress.total ?? 0;
            const position = phase === 'verifying' ? (row?.bytesVerified ?? 0) : (row?.position ?? 0);
            const pct = row?.error ? 100 : total > 0 ? (position / total) * 100 : 0;
            return (
              <li key={drive.id} className={row?.error ? 'target-failed' : undefined}>
                <span className="target-name">{drive.path}</span>
                <ProgressBar label={`${drive.path}: ${row?.error ? 'failed' : formatPercent(pct)}`} percent={pct} tone={row?.error ? 'error' : 'write'} thin />
                <span className="target-state">{row?.error ? 'failed' : row?.stalledSeconds !== undefined ? 'not responding' : formatPercent(pct)}</span>
              </li>
            );
          })}
        </ul>
      )}
      <button ref={cancelRef} type="button" className="button button-quiet button-cancel" onClick={requestCancel} disabled={status === 'cancelling'}>
        Cancel
      </button>
    </div>
  );
}

/**
 * The line under the bar. Time left only when the size is known (otherwise it can never be
 * estimated, and "estimating…" would stay forever): then how much was written instead. No speed
 * placeholder before the first measurement.
 */
function stats(progress: FlashProgress | null, imageUrl: string | undefined): string[] {
  // Before the first progress event, what it is waiting for (not "Starting…" under "Starting…").
  if (!progress) return [imageUrl !== undefined ? `Connecting to ${hostOf(imageUrl)}…` : 'Opening the image…'];
  const parts: string[] = [];
  const sizeKnown = progress.total !== undefined && progress.total > 0;
  if (!sizeKnown && progress.phase === 'writing') parts.push(`${formatBytes(progress.position)} written`);
  if (progress.speed > 0) parts.push(formatSpeed(progress.speed));
  if (sizeKnown && (progress.phase === 'writing' || progress.phase === 'verifying')) parts.push(formatEta(progress.eta));
  return parts;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the server';
  }
}
