// A flash that fails, driven with the keyboard alone: a damaged (truncated) image is chosen,
// written until it runs out, and the app says what happened and what to do next.

import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('with only the keyboard, a damaged image ends in the failure view with advice', async ({ app, loops, images }) => {
  const drive = loops.create(64 * MiB);
  const imagePath = images.truncatedZstd('damaged.img.zst', 16 * MiB);
  const page = app.page;

  await app.step('choose the image by typing its path', async () => {
    await app.tabTo(page.getByRole('button', { name: 'Select image', exact: true }));
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Choose an image on this computer' });
    await expect(dialog).toBeVisible();
    await app.tabTo(dialog.getByRole('textbox', { name: 'Path' }));
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(imagePath);
    await page.keyboard.press('Enter');
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId('image-summary')).toContainText('damaged.img.zst');
  });

  await app.step('tick the drive and close the list with Escape', async () => {
    await app.tabTo(page.getByRole('button', { name: 'Select target', exact: true }));
    await page.keyboard.press('Enter');
    await expect(app.driveCheckbox(drive.path)).toBeVisible();
    await app.tabTo(app.driveCheckbox(drive.path));
    await page.keyboard.press('Space');
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('target-summary')).toContainText(drive.path);
    await expect(page.getByRole('button', { name: 'Select target', exact: true })).toBeFocused();
  });

  await app.step('flash', async () => {
    await app.tabTo(page.getByRole('button', { name: 'Flash!', exact: true }));
    await page.keyboard.press('Enter');
  });
  await app.waitForFailure();

  await app.step('the error is in words, with what to do next, and has the focus', async () => {
    await expect(page.getByRole('heading', { name: 'Flashing failed' })).toBeFocused();
    await expect(page.getByTestId('error-text')).toContainText('damaged.img.zst');
    await expect(page.getByText('What to do next:')).toBeVisible();
    await expect(page.getByText('download it again')).toBeVisible();
  });

  await app.step('the window title says it failed (it showed the progress), and goes back with Back', async () => {
    await expect(page).toHaveTitle('Flashing failed · Blockwise');
    await page.getByRole('button', { name: 'Back', exact: true }).click();
    await expect(page).toHaveTitle('Blockwise');
  });
});
