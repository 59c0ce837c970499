// Only our own window's top frame, showing our own page, may call the router: not another
// window, not an iframe, not a page the window was somehow navigated to.

import type { SenderEvent } from './ipc-router';

/** Same document: compares everything but the query and fragment. */
function sameDocument(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.protocol === y.protocol && x.host === y.host && x.pathname === y.pathname;
  } catch {
    return false;
  }
}

export function createTrustedSenderCheck(window: () => { webContents: { id: number } } | undefined, appUrl: string) {
  return (event: SenderEvent): boolean => {
    const win = window();
    if (!win || event.sender.id !== win.webContents.id) return false;
    const frameUrl = event.senderFrame?.url;
    return typeof frameUrl === 'string' && sameDocument(frameUrl, appUrl);
  };
}
