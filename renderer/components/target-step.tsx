// Step 2: choose the drive(s). The list itself lives in DrivePickerDialog.

import { formatBytes, driveTitle } from '../format';
import { isBusy } from '../store/flash-store';
import { useDrives, useFlash } from '../store/use-stores';
import { DroppedDrivesNotice } from './dropped-drives-notice';
import { DriveIcon } from './icons';
import { StepCard } from './step-card';

export function TargetStep() {
  const drives = useDrives((s) => s.drives);
  const selected = useDrives((s) => s.selected);
  const openDialog = useDrives((s) => s.openDialog);
  const busy = useFlash((s) => isBusy(s.status));
  const chosen = drives.filter((d) => selected.includes(d.id));
  // A backup or check started in the list goes on once it is closed (Done, Escape): said here, so
  // that it is not out of sight and mind while it takes minutes.
  const backups = useDrives((s) => s.backups);
  const checks = useDrives((s) => s.checks);
  const underWay = drives.flatMap((drive) => {
    const backup = backups[drive.id];
    const check = checks[drive.id];
    if (backup?.status === 'running') return [`Backing up ${drive.path} to a file… ${backup.percent ?? 0}%`];
    if (check?.status === 'running') return [`Checking ${drive.path} for fake capacity… ${check.percent ?? 0}%`];
    return [];
  });

  return (
    <StepCard number={2} title="Target" icon={<DriveIcon />} state={chosen.length ? 'done' : 'ready'}>
      {chosen.length === 0 && <p className="step-hint">The USB stick or SD card to write. Everything on it will be replaced.</p>}
      {chosen.length === 1 && chosen[0] && (
        <div className="chosen" data-testid="target-summary">
          <p className="chosen-name" title={driveTitle(chosen[0])}>
            {driveTitle(chosen[0])}
          </p>
          <p className="chosen-meta">
            {chosen[0].path} · {formatBytes(chosen[0].size)}
          </p>
        </div>
      )}
      {chosen.length > 1 && (
        <div className="chosen" data-testid="target-summary">
          <p className="chosen-name">{chosen.length} drives</p>
          <p className="chosen-meta">{chosen.map((d) => d.path).join(', ')}</p>
        </div>
      )}
      <DroppedDrivesNotice />
      {underWay.length > 0 && (
        <p className="step-hint" data-testid="drive-tasks">
          {underWay.join(' ')} Open Select target to see it or cancel it.
        </p>
      )}
      <button type="button" className={chosen.length ? 'button button-quiet' : 'button button-primary'} onClick={openDialog} disabled={busy}>
        Select target
      </button>
    </StepCard>
  );
}
