// Chooses the end-of-flash view and moves focus to its heading, so keyboard and screen-reader
// users land on the outcome.

import { useEffect } from 'react';
import { imageBytes } from '../store/drive-suitability';
import type { ImageInfo } from '../../shared/contract';
import { isRetryable } from '../failure-headline';
import { chosenEntry } from '../store/flash-store';
import { useFlash, useStores } from '../store/use-stores';
import { FailureView } from './failure-view';
import { PartialView } from './partial-view';
import { SuccessView } from './success-view';

export function ResultView() {
  const status = useFlash((s) => s.status);
  const result = useFlash((s) => s.result);
  const error = useFlash((s) => s.error);
  const image = useFlash((s) => s.image);
  const targets = useFlash((s) => s.targets);
  const phase = useFlash((s) => s.progress?.phase);
  const reset = useFlash((s) => s.reset);
  const startFlash = useFlash((s) => s.startFlash);
  const stores = useStores();

  useEffect(() => {
    const heading = document.getElementById('result-title');
    heading?.focus();
    // The window title carried the progress ("97% verifying"): it now says how the flash ended, so a
    // tab or window in the background tells that too, instead of a bare "Blockwise".
    if (heading?.textContent) document.title = `${heading.textContent} · Blockwise`;
  }, [status, result]);
  useEffect(
    () => () => {
      document.title = 'Blockwise';
    },
    [],
  );

  const imageName = flashedName(image);
  if (status === 'done' && result) {
    // Some drives written, some not: not a success.
    if (result.targets.some((t) => !t.ok)) {
      const failed = result.targets.filter((t) => !t.ok);
      // Again on the same drives, if any failure was one another try could mend (not a drive too small).
      const retry = failed.some((t) => !t.error || isRetryable(t.error.code))
        ? () => {
            const ids = targets.filter((d) => failed.some((t) => t.path === d.path)).map((d) => d.id);
            reset();
            stores.drives.getState().selectDrives(ids);
            void startFlash();
          }
        : undefined;
      return <PartialView result={result} imageName={imageName} targets={targets} onAgain={reset} {...(retry ? { onRetryFailed: retry } : {})} />;
    }
    return <SuccessView result={result} imageName={imageName} downloaded={image?.url !== undefined} targets={targets} onAgain={reset} />;
  }
  if (status === 'failed' || status === 'cancelled') {
    return (
      <FailureView
        kind={status}
        error={error}
        targets={targets}
        results={result?.targets ?? []}
        phase={phase}
        imageSize={result?.imageSize ?? (image ? imageBytes(image) : undefined)}
        imageLocation={image?.path ?? image?.url}
        imageEntry={image?.entry}
        onBack={reset}
        onRetry={() => {
          reset();
          void startFlash();
        }}
        onFollow={(jobId) => {
          reset();
          stores.followJob(jobId);
        }}
      />
    );
  }
  return null;
}

/** What was written, as the result names it: the image chosen inside an archive, and the archive. */
export function flashedName(image: ImageInfo | null): string {
  if (!image) return 'The image';
  const entry = chosenEntry(image);
  return entry ? `${entry} from ${image.name}` : image.name;
}
