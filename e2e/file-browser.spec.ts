// The browser host's file chooser: a folder's path typed without its final slash opens the folder
// (it used to be refused as "not an image file"), and the chooser opens again where the last image
// was found, also after a reload. With the keyboard, opening a folder from the list leaves the
// focus on the new folder's first entry (it used to fall back to the page).

import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { expect, test } from './fixtures';

test('a typed folder path opens the folder, and the chooser reopens in the last folder used', async ({ app, images }) => {
  const imagePath = images.random('found-here.img', 1024 * 1024, 4);
  const page = app.page;
  const dialog = page.getByRole('dialog', { name: 'Choose an image on this computer' });
  const field = dialog.getByRole('textbox', { name: 'Path' });

  await app.step('type the folder, without a final slash, and press Enter', async () => {
    await page.getByRole('button', { name: 'Select image', exact: true }).click();
    await expect(dialog).toBeVisible();
    await field.fill(images.dir);
    await field.press('Enter');
    await expect(dialog.getByRole('list', { name: `Contents of ${images.dir}` })).toBeVisible();
    await expect(dialog.getByRole('button', { name: /found-here\.img/ })).toBeVisible();
    await expect(dialog.getByRole('alert')).toHaveCount(0);
    await expect(field).toHaveValue(`${images.dir}/`);
  });

  await app.step('open the image from the list', async () => {
    await dialog.getByRole('button', { name: /found-here\.img/ }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId('image-summary')).toContainText(path.basename(imagePath));
  });

  await app.step('after a reload, Select image opens in that folder again', async () => {
    await page.reload();
    await page.getByRole('button', { name: 'Select image', exact: true }).click();
    await expect(dialog.getByRole('list', { name: `Contents of ${images.dir}` })).toBeVisible();
    await expect(dialog.getByRole('button', { name: /found-here\.img/ })).toBeVisible();
  });
});

test('a folder opened from the list with the keyboard puts the focus on its first entry; Up keeps it', async ({ app, images }) => {
  // A folder of our own, with one folder in it: nobody else's files move the entries about.
  mkdirSync(path.join(images.dir, 'cards'));
  images.random('cards/inside.img', 64 * 1024, 5);
  const inner = path.join(images.dir, 'cards');
  const page = app.page;
  const dialog = page.getByRole('dialog', { name: 'Choose an image on this computer' });

  await app.step('open the chooser in the folder above the images', async () => {
    await page.getByRole('button', { name: 'Select image', exact: true }).click();
    const field = dialog.getByRole('textbox', { name: 'Path' });
    await expect(dialog.getByRole('list', { name: /^Contents of / })).toBeVisible();
    await field.fill(`${images.dir}/`);
    await field.press('Enter');
    await expect(dialog.getByRole('list', { name: `Contents of ${images.dir}` })).toBeVisible();
  });

  await app.step('Enter on the folder: the focus is on its first entry', async () => {
    await app.tabTo(dialog.getByRole('button', { name: 'cards', exact: true }));
    await page.keyboard.press('Enter');
    await expect(dialog.getByRole('list', { name: `Contents of ${inner}` })).toBeVisible();
    await expect(dialog.getByRole('button', { name: /inside\.img/ })).toBeFocused();
  });

  await app.step('Enter on Up: the focus stays on Up, to climb on', async () => {
    const up = dialog.getByRole('button', { name: 'Up one folder' });
    await up.focus();
    await page.keyboard.press('Enter');
    await expect(dialog.getByRole('list', { name: `Contents of ${images.dir}` })).toBeVisible();
    await expect(up).toBeFocused();
  });
});
