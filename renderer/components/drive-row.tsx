// One drive in the picker: a checkbox whose label says what the drive is, and why it can't be
// used or deserves a second look (shared/drive-rules.ts words it).

import type { DriveView } from '../store/drive-suitability';
import type { DriveBackup, DriveCheck, DriveTaskElsewhere } from '../store/drives-store';
import { busName, driveTitle, formatBytes } from '../format';
import { DriveBackupLine } from './drive-backup';
import { DriveCheckLine } from './drive-check';
import { DriveIcon } from './icons';

interface DriveRowProps {
  view: DriveView;
  checked: boolean;
  onToggle(): void;
  /** The drive's capacity check, if one ran or runs (drive-check.tsx). */
  check?: DriveCheck | undefined;
  onCheck?(): void;
  onCancelCheck?(): void;
  /** The drive's backup to a file (drive-backup.tsx), and what can be done with it. */
  backup?: DriveBackup | undefined;
  backupActions?: BackupActions;
  /** A check or backup of this drive that another window or tab runs. */
  elsewhere?: DriveTaskElsewhere | undefined;
  onCancelElsewhere?: () => void;
}

export interface BackupActions {
  open(): void;
  file(file: string): void;
  /** The native save dialog, where the host has one (Electron). */
  choose?(): void;
  start(): void;
  cancel(): void;
  close(): void;
}

export function DriveRow({ view, checked, onToggle, check, onCheck, onCancelCheck, backup, backupActions, elsewhere, onCancelElsewhere }: DriveRowProps) {
  const { drive, reasons } = view;
  const disabled = !view.selectable;
  const reasonId = `reason-${drive.id}`;
  // Loop-device and "mounted" notes are informational; blocking and risky ones are shown first.
  const shown = reasons.filter((r) => r.severity !== 'info' || !view.selectable);
  return (
    <li className={`drive-row${disabled ? ' drive-disabled' : ''}${checked ? ' drive-checked' : ''}`} data-drive-path={drive.path} data-drive-id={drive.id}>
      <label className="drive-label">
        <input type="checkbox" checked={checked} disabled={disabled} onChange={onToggle} aria-describedby={shown.length ? reasonId : undefined} />
        <span className="drive-icon">
          <DriveIcon />
        </span>
        <span className="drive-text">
          <span className="drive-name">
            {driveTitle(drive)} <span className="drive-path">{drive.path}</span>
          </span>
          <span className="drive-meta">
            {formatBytes(drive.size)} · {busName(drive.bus)}
            {drive.removable && ' · removable'}
            {drive.mountpoints.length > 0 && ` · mounted at ${drive.mountpoints.join(', ')}`}
          </span>
          {shown.length > 0 && (
            <span className="drive-reasons" id={reasonId}>
              {shown.map((reason) => (
                <span key={reason.code} className={`drive-reason reason-${reason.severity}`}>
                  {reason.text}
                </span>
              ))}
            </span>
          )}
        </span>
      </label>
      {onCheck && <DriveCheckLine drive={drive} check={check} backingUp={backup?.status === 'running' || elsewhere !== undefined} onCheck={onCheck} onCancel={onCancelCheck ?? (() => undefined)} />}
      {elsewhere && (
        <div className="drive-check" data-testid="drive-task-elsewhere">
          {/* Not a live region: each percent would be read out. */}
          <div className="drive-check-status">
            <span className="drive-check-running">
              {elsewhere.kind === 'backup' ? 'Being backed up to a file' : 'Being checked for fake capacity'} in another window or tab
              {elsewhere.percent !== undefined ? `… ${elsewhere.percent}%` : '…'}
            </span>{' '}
            {/* That tab may be gone (closed, reloaded): the host cancels by drive, from any tab. */}
            {onCancelElsewhere && (
              <button
                type="button"
                className="button button-quiet button-small"
                onClick={onCancelElsewhere}
                aria-label={`Cancel the ${elsewhere.kind === 'backup' ? 'backup' : 'check'} of ${drive.path}`}
              >
                Cancel
              </button>
            )}
          </div>
        </div>
      )}
      {/* The system drive is in use (mounted), which a backup refuses: no button to fail. */}
      {backupActions && !drive.system && (
        <DriveBackupLine
          drive={drive}
          backup={backup}
          checking={check?.status === 'running' || elsewhere !== undefined}
          onOpen={backupActions.open}
          onFile={backupActions.file}
          onChoose={backupActions.choose}
          onStart={backupActions.start}
          onCancel={backupActions.cancel}
          onClose={backupActions.close}
        />
      )}
    </li>
  );
}
