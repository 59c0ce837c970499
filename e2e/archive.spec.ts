// A zip holding two images, on disk or at a web address: the image step asks which one, and the
// chosen one (not the other, not the first) is what ends up on the drive.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';
import { serveFolder } from './support/image-server';

const MiB = 1024 * 1024;

test('a zip with two images asks which one, and writes the chosen one', async ({ app, loops, images }) => {
  const drive = loops.create(32 * MiB, { fill: 'garbage' });
  images.random('desktop.img', 6 * MiB, 0x11);
  const chosen = images.random('server.img', 5 * MiB, 0x22);
  const zipPath = path.join(images.dir, 'two-images.zip');
  execFileSync('zip', ['-q', '-j', zipPath, path.join(images.dir, 'desktop.img'), chosen]);

  await app.selectImage(zipPath);
  await app.step('the image step lists both images and holds Flash! back until one is chosen', async () => {
    const select = app.page.getByRole('combobox', { name: 'Image in the archive' });
    await expect(select.getByRole('option')).toHaveText(['Choose one of 2 images…', 'desktop.img', 'server.img']);
    await expect(app.page.getByText('Choose which image in the archive to write.')).toBeVisible();
  });
  await app.chooseArchiveEntry('server.img');
  await app.selectDrive(drive.path);
  await expect(app.page.getByRole('button', { name: 'Flash!', exact: true })).toBeEnabled();
  await app.flash();
  await app.waitForSuccess();

  await test.step('the drive holds server.img', async () => {
    const image = readFileSync(chosen);
    expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
  });
});

test('a zip at a web address with two images asks which one before downloading, and writes the chosen one', async ({ app, loops, images }) => {
  const drive = loops.create(32 * MiB, { fill: 'garbage' });
  const first = images.random('first.img', 5 * MiB, 0x33);
  const chosen = images.random('second.img', 6 * MiB, 0x44);
  const zipPath = path.join(images.dir, 'bundle.zip');
  execFileSync('zip', ['-q', '-j', zipPath, first, chosen]);
  const server = await serveFolder(images.dir);
  try {
    await app.useUrl(server.url('bundle.zip'), 'bundle.zip');
    await app.step('the list comes from the directory at the end of the zip (range requests), before any download', async () => {
      const select = app.page.getByRole('combobox', { name: 'Image in the archive' });
      await expect(select.getByRole('option')).toHaveText(['Choose one of 2 images…', 'first.img', 'second.img']);
    });
    // The second one: the download streams past the first to reach it.
    await app.chooseArchiveEntry('second.img');
    await app.selectDrive(drive.path);
    await app.flash();
    await app.waitForSuccess();
    await test.step('the drive holds second.img', async () => {
      const image = readFileSync(chosen);
      expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
    });
  } finally {
    await server.stop();
  }
});

test('a zip from a server without byte ranges that holds two images fails naming them, and Back offers the choice', async ({ app, loops, images }) => {
  const drive = loops.create(32 * MiB, { fill: 'garbage' });
  const first = images.random('first.img', 5 * MiB, 0x35);
  const chosen = images.random('second.img', 6 * MiB, 0x46);
  const zipPath = path.join(images.dir, 'streamed.zip');
  execFileSync('zip', ['-q', '-j', zipPath, first, chosen]);
  const server = await serveFolder(images.dir, { noRanges: true });
  try {
    await app.useUrl(server.url('streamed.zip'), 'streamed.zip');
    await app.selectDrive(drive.path);
    await app.flash();
    await app.waitForFailure();
    await app.step('the failure names both images and says to choose', async () => {
      await expect(app.page.getByTestId('flash-failure')).toContainText('holds several images: first.img, second.img');
    });
    await app.step('Back leads to the choice between them', async () => {
      await app.page.getByRole('button', { name: 'Back', exact: true }).click();
      const select = app.page.getByRole('combobox', { name: 'Image in the archive' });
      await expect(select.getByRole('option')).toHaveText(['Choose one of 2 images…', 'first.img', 'second.img']);
      await expect(app.page.getByRole('button', { name: 'Flash!', exact: true })).toBeDisabled();
    });
    await app.chooseArchiveEntry('second.img');
    await app.flash();
    await app.waitForSuccess();
    await test.step('the drive holds second.img', async () => {
      const image = readFileSync(chosen);
      expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
    });
  } finally {
    await server.stop();
  }
});
