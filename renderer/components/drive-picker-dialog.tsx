// The list of drives to write. Unsuitable drives stay visible, disabled, with the reason; several
// drives may be ticked and are written at once.

import { useMemo } from 'react';
import { describeError } from '../../shared/errors';
import { visibleDrives } from '../store/drives-store';
import { useDrives, useImage, useSettings, useStores } from '../store/use-stores';
import { DriveRow } from './drive-row';
import { DroppedDrivesNotice } from './dropped-drives-notice';
import { Modal } from './modal';

export function DrivePickerDialog() {
  const open = useDrives((s) => s.dialogOpen);
  const drives = useDrives((s) => s.drives);
  const loaded = useDrives((s) => s.loaded);
  const error = useDrives((s) => s.error);
  const selected = useDrives((s) => s.selected);
  const toggle = useDrives((s) => s.toggleDrive);
  const close = useDrives((s) => s.closeDialog);
  const checkDrive = useDrives((s) => s.checkDrive);
  const cancelCheck = useDrives((s) => s.cancelCheck);
  const backups = useDrives((s) => s.backups);
  const drivesStore = useStores().drives;
  const nativeDialog = useImage((s) => s.nativeDialog);
  const checks = useDrives((s) => s.checks);
  const elsewhere = useDrives((s) => s.elsewhere);
  const image = useImage((s) => s.image);
  const showAll = useSettings((s) => s.settings.showAllDrives);
  const views = useMemo(() => visibleDrives(drives, image, showAll, checks), [drives, image, showAll, checks]);
  if (!open) return null;

  const hiddenCount = drives.length - views.length;
  const footer = (
    <>
      <span className="modal-footer-note" role="status">
        {selected.length === 0 ? 'No drive selected' : selected.length === 1 ? '1 drive selected' : `${selected.length} drives selected`}
      </span>
      <button type="button" className="button button-primary" onClick={close}>
        Done
      </button>
    </>
  );

  return (
    <Modal title="Select target" onClose={close} footer={footer}>
      {showAll && (
        <p className="inline-warning" role="note">
          Showing every drive, including system drives. Writing one erases your operating system or your files, so Blockwise asks again before it does.
        </p>
      )}
      {error && (
        <p className="inline-error" role="alert">
          {describeError(error)}
        </p>
      )}
      {loaded && views.length === 0 && (
        <p className="empty-drives">
          No drives found. Plug in a USB stick or SD card; it appears here by itself.
          {hiddenCount > 0 && ` (${hiddenCount} system drive${hiddenCount > 1 ? 's are' : ' is'} hidden.)`}
        </p>
      )}
      <DroppedDrivesNotice />
      {!loaded && <p className="empty-drives">Looking for drives…</p>}
      <ul className="drive-list" aria-label="Drives">
        {views.map((view) => (
          <DriveRow
            key={view.drive.id}
            view={view}
            checked={selected.includes(view.drive.id)}
            onToggle={() => toggle(view.drive.id)}
            check={checks[view.drive.id]}
            onCheck={() => void checkDrive(view.drive.id)}
            onCancelCheck={() => void cancelCheck(view.drive.id)}
            backup={backups[view.drive.id]}
            elsewhere={elsewhere[view.drive.id]}
            onCancelElsewhere={() => void drivesStore.getState().cancelElsewhere(view.drive.id)}
            backupActions={{
              open: () => void drivesStore.getState().openBackup(view.drive.id),
              file: (file) => drivesStore.getState().setBackupFile(view.drive.id, file),
              ...(nativeDialog ? { choose: () => void drivesStore.getState().chooseBackupFile(view.drive.id) } : {}),
              start: () => void drivesStore.getState().startBackup(view.drive.id),
              cancel: () => void drivesStore.getState().cancelBackup(view.drive.id),
              close: () => drivesStore.getState().closeBackup(view.drive.id),
            }}
          />
        ))}
      </ul>
      {!showAll && hiddenCount > 0 && views.length > 0 && (
        <p className="drive-hidden-note">
          {hiddenCount} system drive{hiddenCount > 1 ? 's are' : ' is'} hidden. Turn on “Show all drives” in Settings to see {hiddenCount > 1 ? 'them' : 'it'}.
        </p>
      )}
    </Modal>
  );
}
