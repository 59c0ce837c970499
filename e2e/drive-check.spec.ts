// Checking a drive for fake capacity from the target list: a genuine drive is said to show no sign
// of it, with its data left as it was; a counterfeit card that wraps (a FUSE drive that stores 64
// MiB of the 256 MiB it claims, electron/test-support/faulty-fs.py) is named counterfeit, with the
// size it really stores and what to do.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createFaultyDrive, fuseSkipReason } from '../electron/test-support/fuse-faults';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

test('a genuine drive checks clean, and keeps its data', async ({ app, loops }) => {
  const page = app.page;
  const device = loops.create(96 * MiB, { fill: 'garbage' });
  const before = sha(device.backingFile);
  await app.openTargets();
  await app.waitForDrive(device.path);
  const row = app.driveRow(device.path);
  await app.step('check the drive for fake capacity', async () => {
    await app.checkButton(device.path).click();
    const status = row.getByRole('status');
    await expect(status).toContainText(`${device.path} kept what was written across all of its 101 MB: no sign of fake capacity.`, { timeout: 30_000 });
    await expect(status).toContainText('Its own data was put back.');
    await expect(status.locator('.drive-check-ok')).toBeVisible();
    await expect(app.checkButton(device.path)).toHaveText(/^Check again/);
  });
  expect(sha(device.backingFile)).toBe(before);
  expect(device.bytesWritten()).toBeGreaterThan(0);
  // The drive can still be chosen and the dialog closed as before.
  await app.driveCheckbox(device.path).check();
  await app.closeTargets();
  await expect(page.getByTestId('target-summary')).toContainText(device.path);
});

test('a check can be cancelled: the drive keeps its data, and can be checked again', async ({ app, loops }) => {
  const device = loops.create(96 * MiB, { fill: 'garbage' });
  // ~16 test blocks a second: the check is still running when Cancel is pressed.
  loops.throttle(device, 64 * 1024);
  const before = sha(device.backingFile);
  await app.openTargets();
  await app.waitForDrive(device.path);
  const row = app.driveRow(device.path);
  const checkButton = app.checkButton(device.path);
  const cancelButton = row.getByRole('button', { name: `Cancel the check of ${device.path}` });
  await app.step('start a check, then cancel it, from the keyboard', async () => {
    await app.tabTo(checkButton);
    await app.page.keyboard.press('Enter');
    // The pressed button is disabled meanwhile: the focus goes to Cancel, not to the page.
    await expect(cancelButton).toBeFocused();
    // Nor can it be backed up meanwhile (the host would refuse).
    await expect(app.backupButton(device.path)).toBeDisabled();
    // A quarter of its I/Os reads the drive's own bytes; from 30 % on, test blocks are on it.
    await expect(checkButton).toHaveText(/^Checking… (3\d|4\d)%/, { timeout: 20_000 });
    await app.page.keyboard.press('Enter');
  });
  await app.step('the check says it was cancelled and that the data was put back', async () => {
    const status = row.getByRole('status');
    await expect(status).toHaveText(`The check of ${device.path} was cancelled. Its own data was put back.`, { timeout: 30_000 });
    // Not a flash's advice for a cancel, which contradicted it.
    await expect(status).not.toContainText('Flash the drive again');
    await expect(status.locator('.drive-check-problem')).toHaveCount(0);
    await expect(checkButton).toHaveText(/^Check again/);
    await expect(cancelButton).toHaveCount(0);
    // Cancel is gone: the focus is back on the check's button, to check again.
    await expect(checkButton).toBeFocused();
  });
  expect(sha(device.backingFile)).toBe(before);
});

test('a counterfeit card is named counterfeit, with the size it really stores, and then refuses an image larger than that', async ({ app, images }) => {
  const reason = fuseSkipReason();
  if (reason) console.log(`[e2e] skipping: ${reason}`);
  test.skip(reason !== undefined, reason);
  const drive = await createFaultyDrive({ size: 256 * MiB, wrap: 64 * MiB });
  try {
    await app.selectImage(images.random('ninety-six.img', 96 * MiB, 3));
    await app.openTargets();
    await app.waitForDrive(drive.path);
    const row = app.driveRow(drive.path);
    await app.step('check the fake card', async () => {
      await app.checkButton(drive.path).click();
      const status = row.getByRole('status');
      await expect(status).toContainText(`${drive.path} is counterfeit: it claims 268 MB but stores only 67.1 MB (67,108,864 bytes).`, { timeout: 30_000 });
      await expect(status).toContainText('Data written from byte 67108864 on lands at the start of the drive instead');
      await expect(status).toContainText('use it only for images smaller than 67.1 MB');
      await expect(status.locator('.drive-check-problem')).toBeVisible();
    });
    await app.step('the card can no longer be chosen for this image, and says why', async () => {
      await expect(row).toContainText('stores only 67.1 MB of the 268 MB it claims (its capacity check found it counterfeit or failing): the image needs 101 MB and would be damaged.');
      await expect(app.driveCheckbox(drive.path)).toBeDisabled();
    });
  } finally {
    drive.dispose();
  }
});

test('a drive that stops answering during a check is named, and Cancel still ends the check', async ({ app }) => {
  const reason = fuseSkipReason();
  if (reason) console.log(`[e2e] skipping: ${reason}`);
  test.skip(reason !== undefined, reason);
  test.setTimeout(90_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'blockwise-e2e-check-stall-'));
  const release = path.join(dir, 'release');
  // Its writes hang after ten test blocks until `release` exists.
  const drive = await createFaultyDrive({ size: 64 * MiB, stallAfter: 10 * 4096, stallUntil: release });
  try {
    await app.openTargets();
    await app.waitForDrive(drive.path);
    const row = app.driveRow(drive.path);
    await app.checkButton(drive.path).click();
    await app.step('after ~10 s of silence the drive is named, with what to do', async () => {
      const notice = row.getByTestId('check-stall-notice');
      await expect(notice).toContainText(new RegExp(`^${drive.path} has not responded for 1\\d s\\. Still waiting: some cards pause for a while\\. If it stays silent, cancel and try another port, reader or card\\.$`), { timeout: 20_000 });
      // Said once to a screen reader: the seconds, counted every second, are outside the live region.
      await expect(row.locator('[role="status"], [aria-live]').getByTestId('check-stall-notice')).toHaveCount(0);
      await expect(row.getByRole('status')).toContainText(`${drive.path} is not responding. Still waiting: if it stays silent, cancel and try another port, reader or card.`);
    });
    await app.step('Cancel ends it within seconds, saying the drive is not responding', async () => {
      await row.getByRole('button', { name: `Cancel the check of ${drive.path}` }).click();
      await expect(row.getByRole('status')).toContainText(new RegExp(`The check of ${drive.path} was cancelled\\. ${drive.path} is not responding: unplug it\\. \\d+ test blocks of 4096 bytes may still be on it`), { timeout: 15_000 });
      await expect(row.getByTestId('check-stall-notice')).toHaveCount(0);
    });
  } finally {
    writeFileSync(release, '');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the stuck write returns before the drive goes
    drive.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
