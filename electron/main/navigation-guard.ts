// The window never navigates away from the app and never opens windows of its own: links to
// web pages go to the user's browser, everything else is dropped.

import { externalUrlAllowed } from './window-options';

/** The parts of Electron's WebContents the guard touches (fakes in tests). */
export interface GuardedContents {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: { preventDefault(): void }, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export function guardNavigation(contents: GuardedContents, appUrl: string, openExternal: (url: string) => unknown): void {
  const block = (event: { preventDefault(): void }, url: string) => {
    if (url !== appUrl) event.preventDefault();
  };
  contents.on('will-navigate', block);
  contents.on('will-redirect', block);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (externalUrlAllowed(url)) void openExternal(url);
    return { action: 'deny' };
  });
}
