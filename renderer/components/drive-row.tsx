// One drive in the picker: a checkbox whose label says what the drive is, or why it can't be used.

import type { DriveView } from '../store/drive-suitability';
import { busName, driveTitle, formatBytes } from '../format';
import { DriveIcon } from './icons';

interface DriveRowProps {
  view: DriveView;
  checked: boolean;
  onToggle(): void;
}

export function DriveRow({ view, checked, onToggle }: DriveRowProps) {
  const { drive, reasons } = view;
  const disabled = reasons.length > 0;
  const reasonId = `reason-${drive.id}`;
  return (
    <li className={`drive-row${disabled ? ' drive-disabled' : ''}${checked ? ' drive-checked' : ''}`} data-drive-path={drive.path}>
      <label className="drive-label">
        <input type="checkbox" checked={checked} disabled={disabled} onChange={onToggle} aria-describedby={disabled ? reasonId : undefined} />
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
          {disabled && (
            <span className="drive-reason" id={reasonId}>
              {reasons.join(' · ')}
            </span>
          )}
        </span>
      </label>
    </li>
  );
}
