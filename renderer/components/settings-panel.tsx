// Settings: one switch per setting, each saying what it does.

import type { SwitchSetting } from '../../shared/contract';
import { describeError } from '../../shared/errors';
import { isBusy } from '../store/flash-store';
import { useFlash, useSettings } from '../store/use-stores';
import { Modal } from './modal';

const OPTIONS: { key: SwitchSetting; label: string; help: string }[] = [
  { key: 'verify', label: 'Verify after writing', help: 'Read the drive back and compare it with the image. Catches failing and fake cards.' },
  { key: 'ejectWhenDone', label: 'Eject when done', help: 'Safely remove the drive when flashing succeeds.' },
  { key: 'showAllDrives', label: 'Show all drives', help: 'Also list system drives. Be careful: writing one erases your operating system or files.' },
  { key: 'fullWrite', label: 'Write every byte', help: 'Write the whole image, not only the blocks its filesystems use. Slower.' },
  { key: 'keepDownloads', label: 'Keep downloads for the next flash', help: 'Save images flashed from a URL in Blockwise’s folder, so flashing the same address again needs no download.' },
];

export function SettingsPanel() {
  const open = useSettings((s) => s.open);
  const settings = useSettings((s) => s.settings);
  const error = useSettings((s) => s.error);
  const update = useSettings((s) => s.update);
  const setOpen = useSettings((s) => s.setOpen);
  const busy = useFlash((s) => isBusy(s.status));
  if (!open) return null;
  const close = () => setOpen(false);

  return (
    <Modal
      title="Settings"
      onClose={close}
      size="small"
      footer={
        <button type="button" className="button button-primary" onClick={close}>
          Close
        </button>
      }
    >
      {busy && <p className="inline-notice">Changes apply to the next flash.</p>}
      {error && (
        <p className="inline-error" role="alert">
          {describeError(error)}
        </p>
      )}
      <ul className="settings-list">
        {OPTIONS.map((option) => (
          <li key={option.key}>
            <label className="switch-row">
              <span className="switch-text">
                <span className="switch-label">{option.label}</span>
                <span className="switch-help" id={`help-${option.key}`}>
                  {option.help}
                </span>
              </span>
              <input
                type="checkbox"
                role="switch"
                className="switch"
                checked={settings[option.key]}
                aria-describedby={`help-${option.key}`}
                onChange={(e) => void update({ [option.key]: e.target.checked })}
              />
            </label>
          </li>
        ))}
      </ul>
      {settings.showAllDrives && (
        <p className="inline-warning" role="note">
          System drives are now listed. Blockwise asks for an explicit yes before writing one.
        </p>
      )}
    </Modal>
  );
}
