// The explicit yes a system drive needs (only reachable with "show all drives" on). Focus starts
// on the safe answer.

import { driveTitle } from '../format';
import { useFlash } from '../store/use-stores';
import { Modal } from './modal';

export function SystemConfirmDialog() {
  const drives = useFlash((s) => s.confirmingSystem);
  const dismiss = useFlash((s) => s.dismissSystem);
  const confirm = useFlash((s) => s.confirmSystem);
  if (drives.length === 0) return null;
  return (
    <Modal
      title="Erase a system drive?"
      onClose={dismiss}
      size="small"
      tone="danger"
      footer={
        <>
          <button type="button" className="button button-quiet" onClick={dismiss} autoFocus>
            Don’t write
          </button>
          <button type="button" className="button button-danger" onClick={() => void confirm()}>
            Erase and write
          </button>
        </>
      }
    >
      <p>
        {drives.map((d) => `${driveTitle(d)} (${d.path})`).join(', ')} {drives.length > 1 ? 'are system drives' : 'is a system drive'}. Writing the
        image replaces everything on {drives.length > 1 ? 'them' : 'it'}, and the computer may stop working.
      </p>
    </Modal>
  );
}
