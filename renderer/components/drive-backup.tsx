// "Back up to a file" under a drive in the picker: the file the host suggests (editable), then how
// far the backup is, then where it was saved and its SHA-256, or why it was not.

import { useEffect, useRef } from 'react';
import type { DriveInfo } from '../../shared/drive-types';
import { formatBytes } from '../format';
import type { DriveBackup } from '../store/drives-store';

interface DriveBackupProps {
  drive: DriveInfo;
  backup: DriveBackup | undefined;
  /** The drive's capacity check runs (drive-check.tsx): the host would refuse a backup meanwhile. */
  checking?: boolean;
  onOpen(): void;
  onFile(file: string): void;
  /** The native save dialog (Electron); absent where the path is typed. */
  onChoose?: (() => void) | undefined;
  onStart(): void;
  onCancel(): void;
  onClose(): void;
}

export function DriveBackupLine({ drive, backup, checking = false, onOpen, onFile, onChoose, onStart, onCancel, onClose }: DriveBackupProps) {
  const status = useRef<HTMLDivElement>(null);
  const openButton = useRef<HTMLButtonElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  // Each step takes away the button pressed (Back up to a file…, Back up, Cancel, Close): the
  // keyboard focus goes where the next step is, not to the page. Only after a press here, so a
  // list reopened with a backup under way does not pull the focus to it.
  const pressed = useRef(false);
  const state = backup?.status;
  useEffect(() => {
    if (state === 'done' || state === 'failed' || state === 'form') status.current?.scrollIntoView?.({ block: 'nearest' });
    if (!pressed.current) return;
    if (state === 'form' || state === 'failed') field.current?.focus();
    else if (state === 'running') cancelButton.current?.focus();
    else if (state === 'done') closeButton.current?.focus();
    else openButton.current?.focus();
    if (state !== 'running' && state !== 'form') pressed.current = state === 'failed';
  }, [state]);
  const press = (action: () => void) => () => {
    pressed.current = true;
    action();
  };
  const fieldId = `backup-file-${drive.id}`;
  const editing = backup?.status === 'form' || backup?.status === 'failed';
  return (
    <div className="drive-check drive-backup" data-backup-for={drive.path} ref={status}>
      {!backup && (
        <button
          ref={openButton}
          type="button"
          className="button button-quiet button-small"
          onClick={press(onOpen)}
          disabled={checking}
        >
          Back up to a file…
          {/* The drive in the name after the words shown: voice control finds it by what it says. */}
          <span className="visually-hidden"> ({drive.path})</span>
        </button>
      )}
      {editing && (
        <form
          className="backup-form"
          // Escape in the form folds it away, as Close does; it closed the whole list of drives.
          onKeyDown={(event) => {
            if (event.key !== 'Escape') return;
            event.preventDefault();
            event.stopPropagation();
            pressed.current = true;
            onClose();
          }}
          onSubmit={(event) => {
            event.preventDefault();
            if (!backup.file.trim()) return;
            pressed.current = true;
            onStart();
          }}
        >
          <label className="field" htmlFor={fieldId}>
            <span className="field-label">Save {drive.path} as</span>
          </label>
          <input ref={field} id={fieldId} className="text-input" value={backup.file} onChange={(e) => onFile(e.target.value)} spellCheck={false} autoComplete="off" />
          <p className="field-help">
            Name it .img.zst (small and quick), .img.gz, .img.xz (smallest, slowest) or .img (as it is). The drive is only read
            {/* Said only when it applies: the host refuses a mounted drive (the copy would not be consistent). */}
            {drive.mountpoints.length > 0 ? `, but it is mounted at ${drive.mountpoints.join(', ')}: unmount it first, so that the copy is consistent.` : '.'}
          </p>
          <div className="backup-actions">
            <button type="submit" className="button button-primary button-small" disabled={!backup.file.trim()}>
              Back up
            </button>
            {onChoose && (
              <button type="button" className="button button-quiet button-small" onClick={onChoose}>
                Choose…
              </button>
            )}
            <button type="button" className="button button-quiet button-small" onClick={press(onClose)}>
              Close
            </button>
          </div>
        </form>
      )}
      {/* Not a live region: each percent would be read out. The focus is on Cancel meanwhile,
          which names the backup; how it ended is said in the status below. */}
      {backup?.status === 'running' && (
        <div className="drive-check-status">
          <span className="drive-check-running" data-testid="backup-progress">
            {/* The form, and the path in it, is gone meanwhile: the file is named here. */}
            {backup.cancelling
              ? 'Cancelling the backup…'
              : `${backup.phase === 'reading' ? `Backing up to ${backup.file}` : `Checking ${backup.file} by reading it back`}… ${backup.percent ?? 0}%`}
          </span>{' '}
          {/* aria-disabled, not disabled, while cancelling: a disabled button would drop the focus. */}
          <button
            ref={cancelButton}
            type="button"
            className="button button-quiet button-small"
            onClick={() => {
              if (backup.cancelling) return;
              pressed.current = true;
              onCancel();
            }}
            aria-disabled={backup.cancelling === true}
            aria-label={`Cancel the backup of ${drive.path}`}
          >
            Cancel
          </button>
        </div>
      )}
      <div className="drive-check-status" role="status" aria-live="polite">
        {backup?.status === 'done' && (
          <span className="drive-check-ok" data-testid="backup-done">
            <strong>Saved {backup.result.output}</strong>: the drive’s {formatBytes(backup.result.imageSize)}
            {backup.result.compression === 'none' ? '' : `, in ${formatBytes(backup.result.storedSize)}`}
            {backup.result.verified ? ', checked by reading it back' : ''}. SHA-256 {backup.result.sha256} (also saved beside it, so a flash of it checks it).
          </span>
        )}
        {/* The backup's own words say what to do; a flash's advice for the same code ("pick a removable drive") does not fit. */}
        {backup?.status === 'failed' && <span className="drive-check-problem">{backup.error.message}</span>}
      </div>
      {backup?.status === 'done' && (
        <button ref={closeButton} type="button" className="button button-quiet button-small" onClick={press(onClose)}>
          Close
        </button>
      )}
    </div>
  );
}
