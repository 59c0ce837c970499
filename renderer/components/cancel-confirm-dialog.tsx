// Asks before cancelling, saying what a cancel leaves behind: while writing, half-written drives
// that will not boot; while reading back, drives already written whole, left unchecked.

import type { FlashPhase } from '../../shared/flash-types';
import { useFlash } from '../store/use-stores';
import { Modal } from './modal';

/** What cancelling now would leave on `drives` drives, the flash being in `phase`. */
export function cancelWarning(phase: FlashPhase | undefined, drives: number): string {
  const several = drives > 1;
  if (phase === 'verifying') {
    return several
      ? `The ${drives} drives are already written: cancelling stops only the check that reads them back, so they will not be verified.`
      : 'The drive is already written: cancelling stops only the check that reads it back, so it will not be verified.';
  }
  return several
    ? `The ${drives} drives will be left half-written and will not work until you flash them again.`
    : 'The drive will be left half-written and will not work until you flash it again.';
}

export function CancelConfirmDialog() {
  const open = useFlash((s) => s.confirmingCancel);
  const dismiss = useFlash((s) => s.dismissCancel);
  const confirm = useFlash((s) => s.confirmCancel);
  const phase = useFlash((s) => s.progress?.phase);
  const drives = useFlash((s) => s.targets.length);
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
      <p>{cancelWarning(phase, drives)}</p>
    </Modal>
  );
}
