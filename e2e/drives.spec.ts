// The target list: drives that must not be written are shown disabled with the reason, and a
// drive that is unplugged leaves the list by itself.

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
    await app.closeTargets();
    await expect(app.page.getByRole('button', { name: 'Flash!', exact: true })).toBeDisabled();
  });
});
