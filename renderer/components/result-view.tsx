// Chooses the end-of-flash view and moves focus to its heading, so keyboard and screen-reader
// users land on the outcome.

import { useEffect } from 'react';
import { useFlash } from '../store/use-stores';
import { FailureView } from './failure-view';
import { SuccessView } from './success-view';

export function ResultView() {
  const status = useFlash((s) => s.status);
  const result = useFlash((s) => s.result);
  const error = useFlash((s) => s.error);
  const image = useFlash((s) => s.image);
  const targets = useFlash((s) => s.targets);
  const reset = useFlash((s) => s.reset);
  const startFlash = useFlash((s) => s.startFlash);

  useEffect(() => {
    document.getElementById('result-title')?.focus();
  }, [status]);

  if (status === 'done' && result) {
    return <SuccessView result={result} imageName={image?.name ?? 'The image'} downloaded={image?.url !== undefined} targets={targets} onAgain={reset} />;
  }
  if (status === 'failed' || status === 'cancelled') {
    return (
      <FailureView
        kind={status}
        error={error}
        targets={targets}
        results={result?.targets ?? []}
        onBack={reset}
        onRetry={() => {
          reset();
          void startFlash();
        }}
      />
    );
  }
  return null;
}
