// The capacity check under a drive in the picker: a button, then "Checking…", then what it found
// (shared/capacity-words.ts), so a maker can tell a fake card before writing to it.

import { useEffect, useRef } from 'react';
import { describeCapacityCheck } from '../../shared/capacity-words';
import { describeError } from '../../shared/errors';
import type { DriveInfo } from '../../shared/drive-types';
import type { DriveCheck } from '../store/drives-store';

interface DriveCheckProps {
  drive: DriveInfo;
  check: DriveCheck | undefined;
  onCheck(): void;
  onCancel(): void;
}

export function DriveCheckLine({ drive, check, onCheck, onCancel }: DriveCheckProps) {
  const status = useRef<HTMLDivElement>(null);
  const state = check?.status;
  // The finding of a drive low in the list would land below the dialog's fold: brought into view.
  useEffect(() => {
    if (state === 'done' || state === 'failed') status.current?.scrollIntoView?.({ block: 'nearest' });
  }, [state]);
  // The host refuses these (the check writes, if only for a moment): no button to fail.
  if (drive.system || drive.readOnly) return null;
  const running = check?.status === 'running';
  const cancelling = running && check.cancelling === true;
  const words = check?.status === 'done' ? describeCapacityCheck(check.result) : undefined;
  const cancelled = check?.status === 'failed' && check.error.code === 'CANCELLED';
  return (
    <div className="drive-check" data-check-for={drive.path}>
      <button type="button" className="button button-quiet button-small" onClick={onCheck} disabled={running} aria-label={`Check ${drive.path} for fake capacity`}>
        {running ? `Checking… ${check.percent !== undefined ? `${check.percent}%` : ''}`.trim() : check ? 'Check again' : 'Check for fake capacity'}
      </button>
      {running && (
        <button type="button" className="button button-quiet button-small" onClick={onCancel} disabled={cancelling} aria-label={`Cancel the check of ${drive.path}`}>
          {cancelling ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      <div className="drive-check-status" role="status" aria-live="polite" ref={status}>
        {running && !cancelling && check.stalledSeconds === undefined && (
          <span className="drive-check-running">Writing test blocks across the drive and reading them back; its data is put back. Keep it plugged in.</span>
        )}
        {running && check.stalledSeconds !== undefined && (
          <span className="drive-check-problem" data-testid="check-stall-notice">
            {drive.path} has not responded for {check.stalledSeconds} s.{' '}
            {cancelling
              ? 'Cancelling: the check ends within seconds, and puts back what the drive lets it.'
              : 'Still waiting: some cards pause for a while. If it stays silent, cancel and try another port, reader or card.'}
          </span>
        )}
        {cancelling && check.stalledSeconds === undefined && <span className="drive-check-running">Putting the drive’s own data back where the test blocks went. Keep it plugged in.</span>}
        {words && (
          <span className={words.ok ? 'drive-check-ok' : 'drive-check-problem'}>
            <strong>{words.headline}</strong> {words.detail}
          </span>
        )}
        {cancelled && <span className="drive-check-cancelled">{describeError(check.error)}</span>}
        {check?.status === 'failed' && !cancelled && (
          <span className="drive-check-problem">
            {/* The engine's own words already say "The check of … could not finish". */}
            {check.error.message.startsWith('The check of') ? '' : 'The check could not run: '}
            {describeError(check.error)}
          </span>
        )}
      </div>
    </div>
  );
}
