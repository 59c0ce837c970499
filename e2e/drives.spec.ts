// The target list: drives that must not be written are shown disabled with the reason, and a
// drive that is unplugged leaves the list by itself. A drive the app takes out of the selection is
// named, with the reason.

import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('a read-only drive and a too-small drive are shown disabled with their reasons', async ({ app, loops, images }) => {
  const good = loops.create(64 * MiB);
  const readOnly = loops.create(64 * MiB, { readOnly: true });
  const tiny = loops.create(4 * MiB);
  await app.selectImage(images.random('demo-os.img', 16 * MiB));
  await app.openTargets();
  await app.waitForDrive(readOnly.path);

  await app.step('the unsuitable drives cannot be ticked and say why', async () => {
    await app.driveRow(readOnly.path).scrollIntoViewIfNeeded();
    await expect(app.driveCheckbox(readOnly.path)).toBeDisabled();
    await expect(app.driveRow(readOnly.path)).toContainText('write-protected');
    await expect(app.driveCheckbox(tiny.path)).toBeDisabled();
    await expect(app.driveRow(tiny.path)).toContainText('too small');
    await expect(app.driveCheckbox(good.path)).toBeEnabled();
  });

  await app.step('the keyboard reaches the usable drive and ticks it', async () => {
    await app.driveCheckbox(good.path).focus();
    await app.page.keyboard.press('Space');
    await expect(app.driveCheckbox(good.path)).toBeChecked();
    await app.page.keyboard.press('Escape');
    await expect(app.targetDialog).toBeHidden();
    await expect(app.page.getByTestId('target-summary')).toContainText(good.path);
    await expect(app.page.getByRole('button', { name: 'Flash!', exact: true })).toBeEnabled();
  });
});

test('an unplugged drive disappears from the list and from the selection', async ({ app, loops, images }) => {
  const stays = loops.create(64 * MiB);
  const leaves = loops.create(64 * MiB);
  await app.selectImage(images.random('demo-os.img', 8 * MiB));
  await app.selectDrive(leaves.path);
  await app.openTargets();
  await app.waitForDrive(stays.path);

  // Loop numbers are reused at once on a busy machine, so the drive is followed by its id.
  const id = await app.driveIdOf(leaves.path);
  loops.unplug(leaves);
  await app.waitForDriveGone(leaves.path, id);

  await app.step('the remaining drive is still there, and nothing is selected', async () => {
    await expect(app.driveCheckbox(stays.path)).toBeVisible();
    await expect(app.targetDialog.getByText('No drive selected')).toBeVisible();
  });
  await app.step('the list says which drive was taken out of the selection, and why', async () => {
    await expect(app.targetDialog.getByTestId('dropped-drives')).toContainText('A drive was removed from the selection.');
    await expect(app.targetDialog.getByTestId('dropped-drives')).toContainText(`(${leaves.path}) was unplugged or can no longer be found.`);
    await app.closeTargets();
    await expect(app.page.getByRole('button', { name: 'Flash!', exact: true })).toBeDisabled();
    await expect(app.page.getByTestId('dropped-drives')).toContainText(`(${leaves.path}) was unplugged`);
  });
});

test('a new, larger image takes a drive that became too small out of the selection, and says so', async ({ app, loops, images }) => {
  const drive = loops.create(16 * MiB);
  await app.selectImage(images.random('small-os.img', 8 * MiB));
  await app.selectDrive(drive.path);
  await app.selectImage(images.random('big-os.img', 24 * MiB));
  await app.step('the target step names the drive and the reason', async () => {
    const notice = app.page.getByTestId('dropped-drives');
    await expect(notice).toContainText(`(${drive.path}) is too small: the image needs 25.2 MB, the drive holds 16.8 MB.`);
    await expect(app.page.getByTestId('target-summary')).toHaveCount(0);
  });
  await app.step('OK puts the notice away', async () => {
    await app.page.getByTestId('dropped-drives').getByRole('button', { name: 'OK' }).click();
    await expect(app.page.getByTestId('dropped-drives')).toHaveCount(0);
  });
});
