// Keyboard focus never falls back to the page: Flash! gives way to the progress view, whose Cancel
// takes the focus; "Flash another" gives way to the steps, whose first button takes it.

import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('the focus moves to Cancel after Flash!, and to the first step after "Flash another"', async ({ app, loops, images }) => {
  const drive = loops.create(32 * MiB);
  const page = app.page;
  // About 2 s of writing: time to see where the focus is while flashing.
  loops.throttle(drive, 8_000_000);
  await app.selectImage(images.random('keys.img', 16 * MiB, 21));
  await app.selectDrive(drive.path);

  await app.step('Enter on Flash! puts the focus on Cancel', async () => {
    await app.tabTo(page.getByRole('button', { name: 'Flash!', exact: true }));
    await page.keyboard.press('Enter');
    await expect(page.getByRole('button', { name: 'Cancel', exact: true })).toBeFocused();
  });
  await app.waitForSuccess();

  await app.step('Enter on "Flash another" puts the focus on Select image', async () => {
    await app.tabTo(page.getByRole('button', { name: 'Flash another' }));
    await page.keyboard.press('Enter');
    await expect(page.getByRole('button', { name: 'Select image', exact: true })).toBeFocused();
  });
});
