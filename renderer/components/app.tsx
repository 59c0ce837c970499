// The one screen: three steps side by side, or the outcome of the last flash; dialogs on top.

import { useEffect, useRef } from 'react';
import { useFlash } from '../store/use-stores';
import { AppHeader } from './app-header';
import { CancelConfirmDialog } from './cancel-confirm-dialog';
import { ConnectionBanner } from './connection-banner';
import { DrivePickerDialog } from './drive-picker-dialog';
import { DropOverlay } from './drop-overlay';
import { CatalogDialog } from './catalog-dialog';
import { FileBrowserDialog } from './file-browser-dialog';
import { FlashStep } from './flash-step';
import { ImageStep } from './image-step';
import { ResultView } from './result-view';
import { SettingsPanel } from './settings-panel';
import { SystemConfirmDialog } from './system-confirm-dialog';
import { TargetStep } from './target-step';
import { UrlDialog } from './url-dialog';

export function App() {
  const status = useFlash((s) => s.status);
  const finished = status === 'done' || status === 'failed' || status === 'cancelled';
  // Back from a result ("Flash another", "Back"), the result's button is gone with the focus: it
  // goes to the first step, where the next flash starts.
  const wasFinished = useRef(finished);
  const steps = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (wasFinished.current && status === 'idle') steps.current?.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
    wasFinished.current = finished;
  }, [finished, status]);
  return (
    <div className="app">
      <AppHeader />
      <ConnectionBanner />
      <main className="app-main">
        {finished ? (
          <ResultView />
        ) : (
          <div className="steps" ref={steps}>
            <ImageStep />
            <div className="step-link" aria-hidden="true" />
            <TargetStep />
            <div className="step-link" aria-hidden="true" />
            <FlashStep />
          </div>
        )}
      </main>
      <FileBrowserDialog />
      <UrlDialog />
      <CatalogDialog />
      <DrivePickerDialog />
      <CancelConfirmDialog />
      <SystemConfirmDialog />
      <SettingsPanel />
      <DropOverlay />
    </div>
  );
}
