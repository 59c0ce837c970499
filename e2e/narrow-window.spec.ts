// A narrow window (480 px, a phone-sized browser or a tiled desktop window): the outcome of a flash
// fits across, without a sideways scroll bar, for a success with long hashes and for a failure.

import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, test } from './fixtures';
import { serveFolder } from './support/image-server';

const MiB = 1024 * 1024;

test('at 480 px the success and failure views fit the window', async ({ app, loops, images }) => {
  await app.page.setViewportSize({ width: 480, height: 800 });
  const drive = loops.create(32 * MiB);
  await app.selectImage(images.random('ubuntu_24.04.1_preinstalled_server_arm64_raspi_narrow_window_test.img', 4 * MiB, 9));
  await app.selectDrive(drive.path);
  await app.flash();
  await app.waitForSuccess();
  await app.step('the success view has no sideways scroll', async () => {
    const seen = await app.horizontalOverflow();
    expect(seen.wide, JSON.stringify(seen)).toEqual([]);
    expect(seen.scrollWidth).toBeLessThanOrEqual(seen.clientWidth);
  });

  await app.page.getByRole('button', { name: 'Flash another' }).click();
  await app.selectImage(images.truncatedZstd('damaged_image_with_a_long_name_that_goes_on_and_on.img.zst', 4 * MiB));
  await app.flash();
  await app.waitForFailure();
  await app.step('the failure view has no sideways scroll', async () => {
    const seen = await app.horizontalOverflow();
    expect(seen.wide, JSON.stringify(seen)).toEqual([]);
    expect(seen.scrollWidth).toBeLessThanOrEqual(seen.clientWidth);
  });
});

test('at 400 px the file chooser fits, and names that differ only at the end can be told apart', async ({ app, images }) => {
  await app.page.setViewportSize({ width: 400, height: 760 });
  const names = ['2024-11-19-raspios-bookworm-arm64-lite.img.xz', '2024-11-19-raspios-bookworm-arm64-full.img.xz'];
  for (const name of names) images.random(name, 4096, 3);
  const dialog = app.page.getByRole('dialog', { name: 'Choose an image on this computer' });
  await app.step('open the chooser in the folder of the two images', async () => {
    await app.page.getByRole('button', { name: 'Select image', exact: true }).click();
    await expect(dialog.getByRole('list', { name: /^Contents of / })).toBeVisible();
    const field = dialog.getByRole('textbox', { name: 'Path' });
    await field.fill(`${images.dir}/`);
    await field.press('Enter');
    await expect(dialog.getByRole('list', { name: `Contents of ${images.dir}` })).toBeVisible();
  });
  await test.step('the dialog has no sideways scroll: its footer used to push it wider than the window', async () => {
    const widths = await dialog.evaluate((d) => [d.scrollWidth, d.clientWidth] as const);
    expect(widths[0]).toBeLessThanOrEqual(widths[1]);
    await expect(dialog.getByRole('button', { name: 'Open', exact: true })).toBeInViewport({ ratio: 1 });
  });
  await test.step('each name is shown whole, not cut off where the two are still alike', async () => {
    for (const name of names) {
      const label = dialog.getByRole('button', { name }).locator('.file-name');
      await expect(label).toHaveText(name);
      const cut = await label.evaluate((el) => el.scrollWidth > el.clientWidth + 1);
      expect(cut, `${name} is cut off`).toBe(false);
    }
  });
});

test('the chosen image is named in full in its step card, end included', async ({ app, images }) => {
  const name = '2024-11-19-raspios-bookworm-arm64-lite-and-then-some.img';
  const imagePath = images.random(name, 64 * 1024, 3);
  await app.selectImage(imagePath);
  await app.step('the name in the step is not cut off', async () => {
    const shown = app.page.getByTestId('image-summary').locator('.chosen-name');
    await expect(shown).toHaveText(name);
    expect(await shown.evaluate((el) => el.scrollWidth > el.clientWidth + 1), 'the name is cut off').toBe(false);
  });
});

test('at 320 px (a 1280 px window zoomed to 400%) the target list fits the window', async ({ app, loops }) => {
  const drive = loops.create(32 * MiB);
  await app.page.setViewportSize({ width: 320, height: 640 });
  await app.openTargets();
  await app.waitForDrive(drive.path);
  await app.step('no drive row reaches past the dialog: a long drive name wraps', async () => {
    const seen = await app.horizontalOverflow();
    expect(seen.wide, JSON.stringify(seen)).toEqual([]);
    // Inside the dialog, a row wider than its body is cut off at the body's edge (it scrolls sideways).
    const body = app.targetDialog.locator('.modal-body');
    const [scrollWidth, clientWidth] = await body.evaluate((el) => [el.scrollWidth, el.clientWidth] as const);
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    const row = await app.driveRow(drive.path).boundingBox();
    const box = await body.boundingBox();
    expect(row!.x + row!.width).toBeLessThanOrEqual(box!.x + box!.width + 0.5);
    // The capacity check's button stays inside its row.
    const check = await app.driveRow(drive.path).getByRole('button', { name: /fake capacity/ }).boundingBox();
    expect(check!.x + check!.width).toBeLessThanOrEqual(row!.x + row!.width + 0.5);
  });
  await app.step('the backup form fits too, its path field inside the row', async () => {
    await app.backupButton(drive.path).click();
    const field = app.driveRow(drive.path).getByRole('textbox', { name: `Save ${drive.path} as` });
    await expect(field).toBeVisible();
    const body = app.targetDialog.locator('.modal-body');
    const [scrollWidth, clientWidth] = await body.evaluate((el) => [el.scrollWidth, el.clientWidth] as const);
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    const box = await field.boundingBox();
    const row = await app.driveRow(drive.path).boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(row!.x + row!.width + 0.5);
    await app.screenshot('backup-form-320');
  });
});

test('at 320 px the catalog dialog fits the window, long names and addresses wrapped', async ({ app, images }) => {
  writeFileSync(
    path.join(images.dir, 'narrow-list.json'),
    JSON.stringify({
      os_list: [
        { name: 'Raspberry Pi OS (64-bit) with desktop and recommended software', description: 'A port of Debian with the Raspberry Pi Desktop and everything else', url: 'https://example.org/a-very-long-image-name-2025-05-13-raspios-bookworm-arm64-full.img.xz', image_download_size: 3e9, extract_size: 12e9, release_date: '2025-05-13' },
        { name: 'Other general-purpose operating systems', subitems_url: 'more.json' },
      ],
    }),
  );
  const server = await serveFolder(images.dir);
  try {
    await app.page.setViewportSize({ width: 320, height: 640 });
    const dialog = app.catalogDialog;
    await app.openCatalog(server.url('narrow-list.json'));
    await expect(dialog.getByRole('list').getByRole('button', { name: /^Raspberry Pi OS \(64-bit\)/ })).toBeVisible();
    const seen = await app.horizontalOverflow();
    expect(seen.wide, JSON.stringify(seen)).toEqual([]);
    const body = dialog.locator('.modal-body');
    const [scrollWidth, clientWidth] = await body.evaluate((el) => [el.scrollWidth, el.clientWidth] as const);
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    await app.screenshot('catalog-320');
  } finally {
    await server.stop();
  }
});
