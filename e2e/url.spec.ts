// Flashing from a web address: a gzip image served by a local web server streams to the drive
// while it downloads (both visible), and the drive ends up holding the decompressed image.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';
import { serveFolder } from './support/image-server';

const MiB = 1024 * 1024;

test('an image from a URL is downloaded and written at once, and its bytes land on the drive', async ({ app, loops, images }) => {
  const drive = loops.create(64 * MiB, { fill: 'garbage' });
  const rawPath = images.random('web-os.img', 16 * MiB, 0x51);
  const image = readFileSync(rawPath);
  const packed = gzipSync(image, { level: 1 });
  writeFileSync(path.join(images.dir, 'web-os.img.gz'), packed);
  // ~3 s of download, so both progress lines are there to be seen.
  const server = await serveFolder(images.dir, { bytesPerSecond: 6_000_000 });
  try {
    await test.step('an address that answers 404 is refused in the dialog, in words', async () => {
      await app.page.getByRole('button', { name: 'Use a URL', exact: true }).click();
      await app.urlDialog.getByRole('textbox', { name: 'Image URL' }).fill(server.url('no-such.img.gz'));
      await app.urlDialog.getByRole('button', { name: 'Use this image', exact: true }).click();
      await expect(app.urlDialog.getByRole('alert')).toContainText('404');
      await app.screenshot('url-404');
      await app.urlDialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    });

    await app.useUrl(server.url('web-os.img.gz'), 'web-os.img.gz');
    await test.step('the summary says it is a gzip image from the web', async () => {
      await expect(app.page.getByTestId('image-summary')).toContainText('GZIP-compressed');
      await expect(app.page.getByTestId('image-summary')).toContainText('Downloads from 127.0.0.1');
    });
    // The publisher's SHA-256 of the download, as a person would paste it from the download page.
    await app.pasteChecksum(`${createHash('sha256').update(packed).digest('hex')}  web-os.img.gz`);
    await app.selectDrive(drive.path);
    await app.flash();
    await app.step('see the download and the write progress together', async () => {
      await expect(app.page.getByTestId('download-progress')).toContainText(/Downloaded .* of /);
      await expect(app.page.getByRole('progressbar', { name: /^Download: / })).toBeVisible();
      await expect(app.page.getByRole('progressbar', { name: /^Writing: / })).toBeVisible();
    });
    await app.waitForSuccess();

    await test.step('the success view says the checksum matched, and shows the image and download SHA-256', async () => {
      await expect(app.page.getByTestId('checksum-result')).toHaveText('Checksum matches');
      await expect(app.page.getByTestId('image-sha256')).toHaveText(createHash('sha256').update(image).digest('hex'));
      await expect(app.page.getByTestId('file-sha256')).toHaveText(createHash('sha256').update(packed).digest('hex'));
    });
    await test.step('the device holds the decompressed image', async () => {
      expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
    });
  } finally {
    await server.stop();
  }
});

test('a download that breaks off is picked up where it stopped, and the app says so meanwhile', async ({ app, loops, images }) => {
  const drive = loops.create(64 * MiB, { fill: 'garbage' });
  const rawPath = images.random('flaky-os.img', 12 * MiB, 0x52);
  const image = readFileSync(rawPath);
  // The connection breaks after 4 MiB; the request for the rest is answered 3 s later.
  const server = await serveFolder(images.dir, { bytesPerSecond: 8_000_000, breakAt: 4 * MiB, resumeDelayMs: 3000 });
  try {
    await app.useUrl(server.url('flaky-os.img'), 'flaky-os.img');
    await app.selectDrive(drive.path);
    await app.flash();
    await app.step('see that the download broke off and is being resumed', async () => {
      const notice = app.page.getByTestId('reconnect-notice');
      await expect(notice).toBeVisible({ timeout: 15_000 });
      await expect(notice).toContainText('The download broke off at 4.2 MB (the connection was closed)');
      await expect(notice).toContainText('attempt 1 of 5');
    });
    await app.waitForSuccess();
    await test.step('the notice is gone and every byte is on the drive', async () => {
      await expect(app.page.getByTestId('reconnect-notice')).toHaveCount(0);
      expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
    });
  } finally {
    await server.stop();
  }
});

test('the URL dialog says why its button is disabled, and drops an error once the address changes', async ({ app, images }) => {
  images.random('here.img', MiB, 0x53);
  const server = await serveFolder(images.dir);
  const dialog = app.urlDialog;
  const field = dialog.getByRole('textbox', { name: 'Image URL' });
  const use = dialog.getByRole('button', { name: 'Use this image', exact: true });
  try {
    await app.step('an empty field: the disabled button says what is missing', async () => {
      await app.page.getByRole('button', { name: 'Use a URL', exact: true }).click();
      await expect(use).toBeDisabled();
      await expect(use).toHaveAccessibleDescription('Type or paste the address of the image.');
      await expect(dialog.getByTestId('url-problem')).toBeVisible();
    });
    await app.step('an address without its scheme, or of another kind, says what is wrong', async () => {
      await field.fill('downloads.example.org/os.img.xz');
      await expect(use).toBeDisabled();
      await expect(dialog.getByTestId('url-problem')).toHaveText('Start the address with https:// (or http://).');
      await field.fill('ftp://downloads.example.org/os.img.xz');
      await expect(dialog.getByTestId('url-problem')).toHaveText('Only http:// and https:// addresses can be downloaded, not ftp://.');
      await field.fill('https://downloads.example.org/my os.img');
      await expect(dialog.getByTestId('url-problem')).toHaveText('An address cannot contain spaces.');
    });
    await app.step('the host\'s error is shown for the address it was about…', async () => {
      await field.fill(server.url('missing.img'));
      await expect(use).toBeEnabled();
      await expect(dialog.getByTestId('url-problem')).toHaveCount(0);
      await use.click();
      await expect(dialog.getByRole('alert')).toContainText('404');
    });
    await app.step('…and goes away as soon as the address is edited', async () => {
      await field.fill(server.url('here.img'));
      await expect(dialog.getByRole('alert')).toHaveCount(0);
      await use.click();
      await expect(dialog).toBeHidden();
      await expect(app.page.getByTestId('image-summary')).toContainText('here.img');
    });
  } finally {
    await server.stop();
  }
});

test('an image of unknown size shows how much was written and how fast, not a time left that never comes', async ({ app, loops, images }) => {
  const drive = loops.create(64 * MiB, { fill: 'garbage' });
  const rawPath = images.random('sizeless.img', 24 * MiB, 0x54);
  writeFileSync(path.join(images.dir, 'sizeless.img.gz'), gzipSync(readFileSync(rawPath), { level: 1 }));
  // Without ranges the gzip trailer (where the image's size is) is out of reach until the end;
  // ~4 s of download leaves time to look.
  const server = await serveFolder(images.dir, { noRanges: true, bytesPerSecond: 6_000_000 });
  try {
    await app.useUrl(server.url('sizeless.img.gz'), 'sizeless.img.gz');
    await app.selectDrive(drive.path);
    await app.flash();
    await app.step('the progress line says bytes written and the speed', async () => {
      const line = app.page.getByTestId('progress-stats');
      await expect(line).toContainText(/\d+(\.\d)? MB written/);
      await expect(line).toContainText(/\d+(\.\d)? MB\/s/);
      await expect(line).not.toContainText('estimating');
      await expect(line).not.toContainText('—');
    });
    await app.waitForSuccess();
    await expect(app.page.getByText('— MB/s')).toHaveCount(0);
  } finally {
    await server.stop();
  }
});
