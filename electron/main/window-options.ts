// The main window's security settings as a pure function, so a test can pin every one of them.

import type { BrowserWindowConstructorOptions } from 'electron';

export function getMainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 960,
    height: 680,
    minWidth: 720,
    minHeight: 520,
    title: 'Blockwise',
    // Shown on 'ready-to-show', so the user never sees a blank white frame.
    show: false,
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      // A dropped file must reach the drop zone, not replace the app with file://image.img.
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** Only web pages leave the app, in the user's browser; file:, javascript:, custom schemes never. */
export function externalUrlAllowed(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
