// Is there an Electron binary to run the specs in? `require('electron')` outside Electron returns
// the binary's path, or throws when the package was installed without its binary (as here).

import { existsSync } from 'node:fs';

export function electronBinary(): string | undefined {
  try {
    const binary = require('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

/** Why the Electron project cannot run here, or undefined when it can. */
export function electronSkipReason(): string | undefined {
  if (process.env.BLOCKWISE_E2E_ELECTRON === '0') return 'BLOCKWISE_E2E_ELECTRON=0 turned the Electron project off';
  if (!electronBinary()) return "Electron's binary is not installed (node_modules/electron has no dist/); the browser project runs the same specs";
  return undefined;
}
