// Asks before cancelling: a half-written drive will not boot.

import { useFlash } from '../store/use-stores';
import { Modal } from './modal';

export function CancelConfirmDialog() {
  const open = useFlash((s) => s.confirmingCancel);
  const dismiss = useFlash((s) => s.dismissCancel);
  const confirm = useFlash((s) => s.confirmCancel);
  if (!open) return null;
  return (
    <Modal
      title="Cancel flashing?"
      onClose={dismiss}
      size="small"
      tone="danger"
      footer={
        <>
          <button type="button" className="button button-quiet" onClick={dismiss} autoFocus>
            Keep flashing
          </button>
          <button type="button" className="button button-danger" onClick={() => void confirm()}>
            Cancel flashing
          </button>
        </>
      }
    >
      <p>The drive will be left half-written and will not work until you flash it again.</p>
    </Modal>
  );
}
