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
  /** The drive is being backed up (drive-backup.tsx): the host would refuse a check meanwhile. */
  backingUp?: boolean;
  onCheck(): void;
  onCancel(): void;
}

export function DriveCheckLine({ drive, check, backingUp = false, onCheck, onCancel }: DriveCheckProps) {
  const status = useRef<HTMLDivElement>(null);
  const checkButton = useRef<HTMLButtonElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  // The button pressed turns disabled (Check) or goes away (Cancel): the keyboard focus is carried
  // to the one that takes its place, not dropped on the page.
  const pressed = useRef(false);
  const state = check?.status;
  // The finding of a drive low in the list would land below the dialog's fold: brought into view.
  useEffect(() => {
    if (state === 'done' || state === 'failed') status.current?.scrollIntoView?.({ block: 'nearest' });
    if (!pressed.current) return;
    if (state === 'running') cancelButton.current?.focus();
    else {
      pressed.current = false;
      checkButton.current?.focus();
    }
  }, [state]);
  // The host refuses these (the check writes, if only for a moment): no button to fail.
  if (drive.system || drive.readOnly) return null;
  const running = check?.status === 'running';
  const cancelling = running && check.cancelling === true;
  const words = check?.status === 'done' ? describeCapacityCheck(check.result) : undefined;
  const cancelled = check?.status === 'failed' && check.error.code === 'CANCELLED';
  return (
    <div className="drive-check" data-check-for={drive.path}>
      <button
        ref={checkButton}
        type="button"
        className="button button-quiet button-small"
        onClick={() => {
          pressed.current = true;
          onCheck();
        }}
        disabled={running || backingUp}
      >
        {running ? `Checking… ${check.percent !== undefined ? `${check.percent}%` : ''}`.trim() : check ? 'Check again' : 'Check for fake capacity'}
        {/* The drive in the name after the words shown (not an aria-label of other words): voice control finds it by what it says. */}
        <span className="visually-hidden"> ({drive.path})</span>
      </button>
      {running && (
        // aria-disabled, not disabled, while cancelling: a disabled button would drop the focus.
        <button
          ref={cancelButton}
          type="button"
          className="button button-quiet button-small"
          onClick={() => {
            if (cancelling) return;
            pressed.current = true;
            onCancel();
          }}
          aria-disabled={cancelling}
          aria-label={`Cancel the check of ${drive.path}`}
        >
          {cancelling ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      {/* Outside the live region: its seconds change every second. */}
      {running && check.stalledSeconds !== undefined && (
        <div className="drive-check-status">
          <span className="drive-check-problem" data-testid="check-stall-notice">
            {drive.path} has not responded for {check.stalledSeconds} s.{' '}
            {cancelling
              ? 'Cancelling: the check ends within seconds, and puts back what the drive lets it.'
              : 'Still waiting: some cards pause for a while. If it stays silent, cancel and try another port, reader or card.'}
          </span>
        </div>
      )}
      <div className="drive-check-status" role="status" aria-live="polite" ref={status}>
        {running && !cancelling && check.stalledSeconds === undefined && (
          <span className="drive-check-running">Writing test blocks across the drive and reading them back; its data is put back. Keep it plugged in.</span>
        )}
        {/* Said once to a screen reader; the notice's seconds above, counted every second, are not read out. */}
        {running && check.stalledSeconds !== undefined && (
          <span className="visually-hidden">
            {drive.path} is not responding. {cancelling ? 'Cancelling.' : 'Still waiting: if it stays silent, cancel and try another port, reader or card.'}
          </span>
        )}
        {cancelling && check.stalledSeconds === undefined && <span className="drive-check-running">Putting the drive’s own data back where the test blocks went. Keep it plugged in.</span>}
        {words && (
          <span className={words.ok ? 'drive-check-ok' : 'drive-check-problem'}>
            <strong>{words.headline}</strong> {words.detail}
          </span>
        )}
        {/* Its own words only: a flash's advice for a cancel ("flash the drive again") is wrong for a drive whose data was put back. */}
        {cancelled && <span className="drive-check-cancelled">{check.error.message}</span>}
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
