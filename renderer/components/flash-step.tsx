// Step 3: the Flash! button, which becomes the progress view while writing.

import { useDrives, useFlash, useImage, useSettings } from '../store/use-stores';
import { selectedDriveBusy } from '../store/drives-store';
import { isBusy } from '../store/flash-store';
import { imageBlockReason } from '../store/image-store';
import { FlashProgressView } from './flash-progress-view';
import { FlashIcon } from './icons';
import { StepCard } from './step-card';

export function FlashStep() {
  const image = useImage((s) => s.image);
  const blockReason = useImage(imageBlockReason);
  const selectedCount = useDrives((s) => s.selected.length);
  const driveBusy = useDrives(selectedDriveBusy);
  const status = useFlash((s) => s.status);
  const startFlash = useFlash((s) => s.startFlash);
  const verify = useSettings((s) => s.settings.verify);
  const fullWrite = useSettings((s) => s.settings.fullWrite);
  const busy = isBusy(status);
  const ready = Boolean(image) && selectedCount > 0 && !blockReason && !driveBusy;

  return (
    <StepCard number={3} title="Flash" icon={<FlashIcon />} state={busy ? 'active' : ready ? 'ready' : 'waiting'}>
      {busy ? (
        <FlashProgressView />
      ) : (
        <>
          <p className="step-hint">
            {!image
              ? 'Select an image first.'
              : (blockReason ?? (selectedCount === 0 ? 'Then select a target.' : (driveBusy ?? plan(fullWrite, verify))))}
          </p>
          <button type="button" className="button button-primary button-flash" onClick={() => void startFlash()} disabled={!ready}>
            Flash!
          </button>
        </>
      )}
    </StepCard>
  );
}

/** What Flash! will do, as the settings have it. */
function plan(fullWrite: boolean, verify: boolean): string {
  const write = fullWrite ? 'Writes every byte of the image' : 'Writes only the blocks the image uses';
  return verify ? `${write}, then reads the drive back to check it.` : `${write}. It will not be read back to check it: verification is off in Settings.`;
}
