#!/usr/bin/env node
// `npm start` (after the build): launches the Electron app when Electron's binary is installed;
// otherwise says so plainly and points to the browser host, which runs the same app.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function electronBinary() {
  try {
    // The electron package exports the binary's path, and throws when it was never downloaded.
    const binary = require('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

const mainScript = path.join(root, 'dist', 'electron', 'main', 'index.js');
if (!existsSync(mainScript)) {
  console.error(`The app is not built (${path.relative(root, mainScript)} is missing). Run: npm run build`);
  process.exit(1);
}

const binary = electronBinary();
if (!binary) {
  console.error(
    [
      "Electron's binary is not installed on this machine, so the desktop app cannot open here.",
      'Run the same app in your browser instead:',
      '',
      '    npm run start:web',
      '',
      'then open the printed http://127.0.0.1:…/?token=… address.',
      'To get the desktop app, install Electron\'s binary (for example: npm rebuild electron, with network access).',
    ].join('\n'),
  );
  process.exit(1);
}

const child = spawn(binary, [root, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, ELECTRON_RUN_AS_NODE: undefined } });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
