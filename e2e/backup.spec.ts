// Backing a drive up to a file from the target list: the file the host suggests, replaced by one
// the person types; the progress; then where it was saved, with its SHA-256. The saved file holds
// the drive byte for byte. A name the host refuses is said in the row, and the form stays.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('a drive is backed up to a file, checked, and its SHA-256 shown', async ({ app, loops, images }, testInfo) => {
  const device = loops.create(48 * MiB, { fill: 'garbage' });
  // Slow enough (~3 s) to see it under way.
  loops.throttleReads(device, 16 * MiB);
  await app.openTargets();
  await app.waitForDrive(device.path);
  const row = app.driveRow(device.path);
  const field = row.getByRole('textbox', { name: `Save ${device.path} as` });
  await app.step('the backup form suggests a file', async () => {
    await app.backupButton(device.path).click();
    await expect(field).toHaveValue(/\/[^/]+-\d{4}-\d{2}-\d{2}(-\d+)?\.img\.zst$/);
    // Electron opens its native save dialog from here; a browser cannot, and the path is typed.
    await expect(row.getByRole('button', { name: 'Choose…' })).toHaveCount(testInfo.project.name === 'browser' ? 0 : 1);
  });
  await app.step('a name the host refuses is said in the row, and the form stays', async () => {
    await field.fill(path.join(images.dir, 'card.zip'));
    await row.getByRole('button', { name: 'Back up', exact: true }).click();
    await expect(row.getByRole('status')).toContainText('card.zip: Blockwise saves backups as NAME.img (as it is), NAME.img.gz, NAME.img.zst or NAME.img.xz (compressed), not as .zip.');
    await expect(row.getByRole('status')).not.toContainText('Pick a removable drive');
    await expect(field).toBeVisible();
    // A folder: said as that, with a name to add (its last part was refused as a name without .img).
    await field.fill(images.dir);
    await row.getByRole('button', { name: 'Back up', exact: true }).click();
    await expect(row.getByRole('status')).toHaveText(new RegExp(`^${images.dir} is a folder: give the backup file’s name in it too, e\\.g\\. ${images.dir}/[^/]+-\\d{4}-\\d{2}-\\d{2}(-\\d+)?\\.img\\.zst\\.$`));
    // A name too long for the filesystem once '.partial' is added: said as that, not in Node's words (ENAMETOOLONG).
    await field.fill(path.join(images.dir, `${'a'.repeat(245)}.img.zst`));
    await row.getByRole('button', { name: 'Back up', exact: true }).click();
    await expect(row.getByRole('status')).toHaveText('The backup’s file name is too long: 253 bytes, and a name may hold 255 (Blockwise also needs room for “.partial” while it saves). Give it a shorter name.');
  });
  const file = path.join(images.dir, 'card.img.gz');
  await app.step('back it up, and see it under way', async () => {
    await field.fill(file);
    await row.getByRole('button', { name: 'Back up', exact: true }).click();
    // The form is gone: where it goes is said with how far it is.
    await expect(row.getByTestId('backup-progress')).toHaveText(new RegExp(`^Backing up to ${file}… \\d+%$`));
    // Not in a live region, which would read out every percent.
    await expect(row.locator('[role="status"], [aria-live]').getByTestId('backup-progress')).toHaveCount(0);
    await app.screenshot('backing-up');
  });
  await app.step('where it was saved, and its SHA-256', async () => {
    const content = readBacking(device, 0, device.size);
    const sha = createHash('sha256').update(content).digest('hex');
    const done = row.getByTestId('backup-done');
    await expect(done).toContainText(`Saved ${file}: the drive’s 50.3 MB`, { timeout: 60_000 });
    await expect(done).toContainText(`checked by reading it back. SHA-256 ${sha}`);
    expect(gunzipSync(readFileSync(file)).equals(content)).toBe(true);
    expect(existsSync(`${file}.partial`)).toBe(false);
    // Cancel is gone: the focus is on Close, beside what was said.
    await expect(row.getByRole('button', { name: 'Close' })).toBeFocused();
  });
});

test('a backup can be cancelled from the keyboard: nothing is left behind, and the drive cannot be checked meanwhile', async ({ app, loops, images }) => {
  const page = app.page;
  const device = loops.create(48 * MiB, { fill: 'garbage' });
  loops.throttleReads(device, 2 * MiB); // ~25 s: still reading when Cancel is pressed
  await app.openTargets();
  await app.waitForDrive(device.path);
  const row = app.driveRow(device.path);
  const file = path.join(images.dir, 'stopped.img.zst');
  const field = row.getByRole('textbox', { name: `Save ${device.path} as` });
  const cancel = row.getByRole('button', { name: `Cancel the backup of ${device.path}` });
  await app.step('open the form and start the backup with Tab and Enter', async () => {
    await app.tabTo(app.backupButton(device.path));
    await page.keyboard.press('Enter');
    // The pressed button is gone: the focus is in the file's field, ready to type.
    await expect(field).toBeFocused();
    await field.fill(file);
    await page.keyboard.press('Enter');
    await expect(row.getByTestId('backup-progress')).toContainText(/Backing up to .+… \d+%/);
    await expect(cancel).toBeFocused();
  });
  await app.step('the drive cannot be checked while it is backed up (the host would refuse)', async () => {
    await expect(app.checkButton(device.path)).toBeDisabled();
  });
  await app.step('cancel it', async () => {
    await page.keyboard.press('Enter');
    await expect(row.getByRole('status')).toContainText(`The backup of ${device.path} was cancelled: nothing was saved (the unfinished file was removed). The drive was only read.`, { timeout: 15_000 });
  });
  expect(existsSync(file)).toBe(false);
  expect(existsSync(`${file}.partial`)).toBe(false);
  // The form is back, with the focus in it, to try again.
  await expect(field).toHaveValue(file);
  await expect(field).toBeFocused();
  await expect(app.checkButton(device.path)).toBeEnabled();
  await app.step('Close folds the form away and gives the focus back to its button', async () => {
    await row.getByRole('button', { name: 'Close' }).press('Enter');
    await expect(app.backupButton(device.path)).toBeFocused();
    // Escape in the form does the same, and leaves the list open.
    await page.keyboard.press('Enter');
    await expect(field).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(app.targetDialog).toBeVisible();
    await expect(field).toHaveCount(0);
    await expect(app.backupButton(device.path)).toBeFocused();
  });
});

test('Flash! waits while the chosen drive is being backed up, and says so', async ({ app, loops, images }) => {
  const page = app.page;
  const device = loops.create(48 * MiB, { fill: 'garbage' });
  loops.throttleReads(device, 2 * MiB); // ~25 s: still reading while the flash step is looked at
  await app.selectImage(images.random('small.img', 4 * MiB, 5));
  await app.openTargets();
  await app.waitForDrive(device.path);
  const row = app.driveRow(device.path);
  await app.backupButton(device.path).click();
  await row.getByRole('textbox', { name: `Save ${device.path} as` }).fill(path.join(images.dir, 'before.img.zst'));
  await row.getByRole('button', { name: 'Back up', exact: true }).click();
  await expect(row.getByTestId('backup-progress')).toContainText(/Backing up to .+… \d+%/);
  await app.driveCheckbox(device.path).check();
  await app.closeTargets();
  await app.step('the flash step says why Flash! waits (it was offered, and the flash failed: the drive is busy)', async () => {
    await expect(page.getByText(`${device.path} is being backed up to a file. Flash! waits until the backup is done; it can be cancelled in Select target.`)).toBeVisible();
    await expect(page.getByRole('button', { name: 'Flash!' })).toBeDisabled();
    // The target step says it goes on, with the list closed.
    await expect(page.getByTestId('drive-tasks')).toHaveText(new RegExp(`^Backing up ${device.path} to a file… \\d+% Open Select target to see it or cancel it\\.$`));
  });
  await app.step('cancelled, the backup no longer holds the flash back', async () => {
    await app.openTargets();
    await row.getByRole('button', { name: `Cancel the backup of ${device.path}` }).click();
    await expect(row.getByRole('status')).toContainText('was cancelled', { timeout: 15_000 });
    await app.closeTargets();
    await expect(page.getByRole('button', { name: 'Flash!' })).toBeEnabled();
    await expect(page.getByTestId('drive-tasks')).toHaveCount(0);
  });
});

test('the backup form asks to unmount only a drive that is mounted, and names where', async ({ app, loops }) => {
  const device = loops.create(32 * MiB, { fill: 'zero' });
  const other = loops.create(16 * MiB, { fill: 'zero' });
  execFileSync('mkfs.ext4', ['-q', device.path]);
  const dir = mkdtempSync(path.join(tmpdir(), 'blockwise-e2e-mounted-'));
  execFileSync('mount', [device.path, dir]);
  try {
    await app.openTargets();
    await app.waitForDrive(device.path);
    await app.waitForDrive(other.path);
    const mounted = app.driveRow(device.path);
    await expect(mounted).toContainText(`mounted at ${dir}`);
    await app.backupButton(device.path).click();
    await expect(mounted.locator('.field-help')).toContainText(`The drive is only read, but it is mounted at ${dir}: unmount it first, so that the copy is consistent.`);
    // A drive that is not mounted is not told to be unmounted.
    const plain = app.driveRow(other.path);
    await app.backupButton(other.path).click();
    await expect(plain.locator('.field-help')).toHaveText(/The drive is only read\.$/);
  } finally {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a backup started in another tab shows the drive busy here too, and Flash! waits for it', async ({ app, loops, images }) => {
  const page = app.page;
  const device = loops.create(48 * MiB, { fill: 'garbage' });
  loops.throttleReads(device, 2 * MiB); // ~25 s: still reading while this tab looks
  await app.selectImage(images.random('small.img', 4 * MiB, 6));
  const other = await page.context().newPage();
  try {
    await app.step('the other tab starts a backup of the drive', async () => {
      await other.goto(page.url());
      await other.getByRole('button', { name: 'Select target', exact: true }).click();
      const row = other.locator(`li[data-drive-path="${device.path}"]`);
      await row.getByRole('button', { name: `Back up to a file… (${device.path})`, exact: true }).click();
      await row.getByRole('textbox', { name: `Save ${device.path} as` }).fill(path.join(images.dir, 'other-tab.img.zst'));
      await row.getByRole('button', { name: 'Back up', exact: true }).click();
      await expect(row.getByTestId('backup-progress')).toBeVisible();
    });
    await app.openTargets();
    const row = app.driveRow(device.path);
    await app.step('this tab shows it busy, and offers no check or backup of it', async () => {
      await expect(row.getByTestId('drive-task-elsewhere')).toContainText(/^Being backed up to a file in another window or tab… \d+%/);
      await expect(row.getByTestId('drive-task-elsewhere').locator('[role="status"], [aria-live]')).toHaveCount(0);
      await expect(app.checkButton(device.path)).toBeDisabled();
      await expect(app.backupButton(device.path)).toBeDisabled();
    });
    await app.step('chosen, Flash! waits and says why', async () => {
      await app.driveCheckbox(device.path).check();
      await app.closeTargets();
      await expect(page.getByText(`${device.path} is being backed up to a file in another window or tab. Flash! waits until that is done; it can be cancelled in Select target.`)).toBeVisible();
      await expect(page.getByRole('button', { name: 'Flash!' })).toBeDisabled();
    });
    await app.step('cancelled from here (that tab may be gone), the drive is free, and that tab says so', async () => {
      await app.openTargets();
      await row.getByRole('button', { name: `Cancel the backup of ${device.path}` }).click();
      await expect(other.locator(`li[data-drive-path="${device.path}"]`).getByRole('status')).toContainText(`The backup of ${device.path} was cancelled`, { timeout: 15_000 });
      await expect(row.getByTestId('drive-task-elsewhere')).toHaveCount(0);
      await expect(app.backupButton(device.path)).toBeEnabled();
      await app.closeTargets();
      await expect(page.getByRole('button', { name: 'Flash!' })).toBeEnabled();
    });
  } finally {
    await other.close();
  }
});
