// Says which drives the app took out of the selection, and why (unplugged, too small for the new
// image, a system drive hidden again): a selection that shrinks silently could send the person to
// flash fewer drives than they think, or wonder where their choice went.

import { useDrives } from '../store/use-stores';

export function DroppedDrivesNotice() {
  const dropped = useDrives((s) => s.dropped);
  const dismiss = useDrives((s) => s.dismissDropped);
  if (dropped.length === 0) return null;
  return (
    <div className="inline-warning dropped-notice" role="status" data-testid="dropped-drives">
      <p>
        <strong>{dropped.length === 1 ? 'A drive was removed from the selection.' : `${dropped.length} drives were removed from the selection.`}</strong>
      </p>
      {dropped.map((d) => (
        <p key={d.drive.id}>{d.reason}</p>
      ))}
      <button type="button" className="button-link" onClick={dismiss}>
        OK
      </button>
    </div>
  );
}
