// Playwright fixtures: the app in its shell (browser host + Chromium, or Electron), loop devices
// and images that are always cleaned up, and a blkio throttle that is always reset.
// Specs skip with a printed reason when this machine cannot run them (not root, no Electron).

import { test as base, _electron, type ElectronApplication, type Page, type TestInfo } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLoopDevice, loopSkipReason, type LoopDevice, type LoopOptions } from '../electron/test-support/loop-device';
import { App, type Shell } from './app';
import { electronBinary, electronSkipReason } from './support/electron-binary';
import { createImageFolder, type ImageFolder } from './support/images';
import { throttleReads, throttleSkipReason, throttleWrites, unthrottle } from './support/throttle';
import { ROOT, startWebHost } from './support/web-host';

export interface ShellOptions {
  shell: Shell;
}

export interface Loops {
  create(size: number, options?: LoopOptions): LoopDevice;
  /** Limits the device's write speed until the test ends. */
  throttle(device: LoopDevice, bytesPerSecond: number): void;
  /** Limits the device's read speed (the readback) until the test ends. */
  throttleReads(device: LoopDevice, bytesPerSecond: number): void;
  /** Detaches now (the drive is "unplugged"); the fixture won't detach it again. */
  unplug(device: LoopDevice): void;
}

const announced = new Set<string>();
function skipWith(reason: string): never {
  if (!announced.has(reason)) {
    announced.add(reason);
    console.log(`[e2e] skipping: ${reason}`);
  }
  base.skip(true, reason);
  throw new Error('unreachable');
}

export const test = base.extend<ShellOptions & { gate: void; loops: Loops; images: ImageFolder; app: App }>({
  shell: ['browser', { option: true }],

  // Runs before everything else, so a skipped test starts nothing.
  gate: [
    async ({ shell }, use) => {
      if (shell === 'electron') {
        const reason = electronSkipReason();
        if (reason) skipWith(`Electron project: ${reason}`);
      }
      const reason = loopSkipReason();
      if (reason) skipWith(reason);
      await use();
    },
    { auto: true },
  ],

  // eslint-disable-next-line no-empty-pattern -- Playwright needs the object pattern
  loops: async ({}, use) => {
    const devices: LoopDevice[] = [];
    const throttled = new Set<string>();
    try {
      await use({
        create(size, options) {
          const device = createLoopDevice(size, options);
          devices.push(device);
          return device;
        },
        throttle(device, bytesPerSecond) {
          const reason = throttleSkipReason();
          if (reason) skipWith(reason);
          throttled.add(device.majMin);
          throttleWrites(device.majMin, bytesPerSecond);
        },
        throttleReads(device, bytesPerSecond) {
          const reason = throttleSkipReason();
          if (reason) skipWith(reason);
          throttled.add(device.majMin);
          throttleReads(device.majMin, bytesPerSecond);
        },
        unplug(device) {
          unthrottle(device.majMin);
          throttled.delete(device.majMin);
          device.dispose();
        },
      });
    } finally {
      for (const majMin of throttled) unthrottle(majMin);
      for (const device of devices) device.dispose();
    }
  },

  // eslint-disable-next-line no-empty-pattern -- Playwright needs the object pattern
  images: async ({}, use) => {
    const folder = createImageFolder();
    try {
      await use(folder);
    } finally {
      folder.dispose();
    }
  },

  app: async ({ shell, page }, use, testInfo) => {
    // Default settings for every test, and none of the user's touched.
    const configDir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-e2e-config-'));
    try {
      await runApp(shell, page, testInfo, configDir, use);
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  },
});

async function runApp(shell: Shell, page: Page, testInfo: TestInfo, configDir: string, use: (app: App) => Promise<void>): Promise<void> {
  const env = { BLOCKWISE_INCLUDE_LOOP: '1', BLOCKWISE_CONFIG_DIR: configDir };
  if (shell === 'electron') {
    let electronApp: ElectronApplication | undefined;
    try {
      electronApp = await _electron.launch({
        executablePath: electronBinary(),
        args: [path.join(ROOT, 'dist/electron/main/index.js'), '--no-sandbox'],
        env: { ...process.env, ...env } as Record<string, string>,
      });
      const window = await electronApp.firstWindow();
      const running = electronApp;
      await use(
        new App(window, testInfo, async (imagePath) => {
          // The native dialog can't be clicked by Playwright: answer it from the main process.
          await running.evaluate(({ dialog }, picked) => {
            dialog.showOpenDialog = (async () => ({ canceled: false, filePaths: [picked] })) as typeof dialog.showOpenDialog;
          }, imagePath);
        }),
      );
    } finally {
      await electronApp?.close();
    }
    return;
  }
  const host = await startWebHost(env);
  try {
    await page.goto(host.url);
    await use(new App(page, testInfo));
  } finally {
    await page.close();
    await host.stop();
    await testInfo.attach('browser-host-output', { body: host.output(), contentType: 'text/plain' });
  }
}

export { expect } from '@playwright/test';
