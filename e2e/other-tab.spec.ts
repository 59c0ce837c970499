// Two tabs of one browser host, as on a flashing station: the first writes a card; the second,
// asked to write the same card, says another flash is writing it and offers to show that flash,
// which it then follows to its end, under that flash's image (never its own).

import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('Flash! on a card another tab is writing offers to show that flash, and follows it', async ({ app, loops, images }) => {
  const drive = loops.create(48 * MiB);
  // About 8 s of writing: the second tab has time to try.
  loops.throttle(drive, 4_000_000);
  const first = await app.page.context().newPage();
  try {
    await app.step('the other tab starts writing the card', async () => {
      await first.goto(app.page.url());
      await first.getByRole('button', { name: 'Select image', exact: true }).click();
      const dialog = first.getByRole('dialog', { name: 'Choose an image on this computer' });
      await expect(dialog.getByRole('list', { name: /^Contents of / })).toBeVisible();
      await dialog.getByRole('textbox', { name: 'Path' }).fill(images.random('theirs.img', 32 * MiB, 1));
      await dialog.getByRole('button', { name: 'Open', exact: true }).click();
      await first.getByRole('button', { name: 'Select target', exact: true }).click();
      await first.getByRole('dialog', { name: 'Select target' }).getByRole('checkbox', { name: new RegExp(`${drive.path}(?!\\d)`) }).check();
      await first.getByRole('dialog', { name: 'Select target' }).getByRole('button', { name: 'Done' }).click();
      await first.getByRole('button', { name: 'Flash!', exact: true }).click();
      await expect(first.getByTestId('flash-progress')).toBeVisible();
    });

    await app.page.bringToFront();
    await app.selectImage(images.random('mine.img', 1 * MiB, 2));
    await app.selectDrive(drive.path);
    await app.step('Flash! here: the card is busy with that flash, and says so', async () => {
      await app.page.getByRole('button', { name: 'Flash!', exact: true }).click();
      await expect(app.page.getByRole('heading', { name: 'Flashing failed' })).toBeVisible();
      await expect(app.page.getByText('Another flash is writing the drive, started in another tab or window')).toBeVisible();
      await expect(app.page.getByText('Close programs using the drive')).toHaveCount(0);
      await expect(app.page.getByRole('button', { name: 'Try again' })).toHaveCount(0);
    });
    await app.step('"Show that flash", with the keyboard: its progress, with the focus on Cancel', async () => {
      await app.page.getByRole('button', { name: 'Show that flash' }).focus();
      await app.page.keyboard.press('Enter');
      await expect(app.page.getByTestId('flash-progress')).toBeVisible();
      await expect(app.page.getByTestId('image-summary')).toContainText('theirs.img');
      await expect(app.page.getByRole('button', { name: 'Cancel', exact: true })).toBeFocused();
    });
    await app.waitForSuccess();
    await expect(app.page.getByText('theirs.img was written to')).toBeVisible();
  } finally {
    await first.close();
  }
});
