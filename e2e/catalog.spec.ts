// Choosing an image from a catalog (Raspberry Pi Imager's JSON format) served on 127.0.0.1: the
// list with dates and sizes, a group at another address, an entry whose image is gone (said in the
// dialog, which stays open), then an image that is written with the catalog's SHA-256 checked. The
// catalog's address is remembered across a reload.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';
import { serveFolder } from './support/image-server';

const MiB = 1024 * 1024;

test('an image chosen from a catalog is written, with the catalog’s SHA-256 checked', async ({ app, loops, images }) => {
  const page = app.page;
  const drive = loops.create(32 * MiB, { fill: 'garbage' });
  const image = readFileSync(images.random('pi-os.img', 8 * MiB, 0x61));
  const packed = gzipSync(image, { level: 1 });
  writeFileSync(path.join(images.dir, 'pi-os.img.gz'), packed);
  const sha = createHash('sha256').update(image).digest('hex');
  writeFileSync(
    path.join(images.dir, 'os_list.json'),
    JSON.stringify({
      os_list: [
        {
          name: 'Pi OS Lite',
          description: 'A small system without a desktop',
          url: 'pi-os.img.gz',
          extract_sha256: sha,
          extract_size: image.length,
          image_download_size: packed.length,
          release_date: '2025-01-02',
        },
        { name: 'Other systems', description: 'More images', subitems_url: 'more.json' },
        { name: 'Erase', url: 'internal://format' },
      ],
    }),
  );
  writeFileSync(path.join(images.dir, 'more.json'), JSON.stringify({ os_list: [{ name: 'Withdrawn OS', url: 'withdrawn.img.xz' }] }));
  writeFileSync(path.join(images.dir, 'index.html'), '<!doctype html><html><body>Downloads</body></html>');
  const server = await serveFolder(images.dir);
  const dialog = app.catalogDialog;
  const list = dialog.getByRole('list');
  try {
    await app.step('a web page given as the catalog is named for what it is', async () => {
      await page.getByRole('button', { name: 'Choose from a catalog' }).click();
      await expect(dialog).toBeVisible();
      await app.openCatalog(server.url('index.html'));
      await expect(dialog.getByRole('alert')).toContainText(`${server.url('index.html')} is not a catalog of images: it is a web page (HTML), not a catalog.`);
      await expect(dialog.getByRole('alert')).toContainText('Raspberry Pi Imager’s JSON format');
      // The address shown is the one that failed, with no list from another catalog beside it.
      await expect(dialog.locator('.catalog-url')).toHaveText(server.url('index.html'));
      await expect(dialog.getByRole('list')).toHaveCount(0);
      // The address's form is gone with the focus in it: the focus is back on the way to another.
      await expect(dialog.getByRole('button', { name: 'Use another catalog' })).toBeFocused();
    });

    await app.step('the catalog lists its images with dates and sizes, and says what it left out', async () => {
      await app.openCatalog(server.url('os_list.json'));
      const lite = list.getByRole('button', { name: /^Pi OS Lite/ });
      // Read, the catalog's first entry has the keyboard focus (not the page).
      await expect(lite).toBeFocused();
      await dialog.getByRole('button', { name: 'Use another catalog' }).click();
      await dialog.getByRole('button', { name: 'Keep this one' }).click();
      await expect(dialog.getByRole('button', { name: 'Use another catalog' })).toBeFocused();
      // Escape in the address does the same, and leaves the dialog open.
      await page.keyboard.press('Enter');
      await expect(dialog.getByRole('textbox', { name: /Catalog address/ })).toBeFocused();
      await page.keyboard.press('Escape');
      await expect(dialog).toBeVisible();
      await expect(dialog.getByRole('textbox', { name: /Catalog address/ })).toHaveCount(0);
      await expect(dialog.getByRole('button', { name: 'Use another catalog' })).toBeFocused();
      await expect(lite).toContainText('A small system without a desktop');
      await expect(lite).toContainText("Released 2025-01-02 · 8.4 MB download · 8.4 MB on the drive · SHA-256 checked");
      await expect(list.getByRole('button', { name: /^Other systems/ })).toBeVisible();
      await expect(list.getByRole('listitem')).toHaveCount(2);
      await expect(dialog).toContainText('1 entry of this catalog cannot be written by Blockwise (no http:// or https:// image address) and is not shown.');
      await app.screenshot('catalog');
    });

    await app.step('a group at another address opens; an image that is gone is said in the dialog, which stays open', async () => {
      await list.getByRole('button', { name: /^Other systems/ }).click();
      await expect(dialog.getByText('Other systems', { exact: true })).toBeVisible();
      // The keyboard focus follows into the group (the pressed button is gone).
      await expect(list.getByRole('button', { name: /^Withdrawn OS/ })).toBeFocused();
      await list.getByRole('button', { name: /^Withdrawn OS/ }).click();
      await expect(dialog.getByRole('alert')).toContainText('404');
      await expect(dialog.getByRole('alert')).toContainText('withdrawn.img.xz');
      await dialog.getByRole('button', { name: '‹ Back' }).click();
      await expect(list.getByRole('button', { name: /^Pi OS Lite/ })).toBeFocused();
    });

    await app.step('choosing an image closes the dialog and fills in its SHA-256', async () => {
      await list.getByRole('button', { name: /^Pi OS Lite/ }).click();
      await expect(dialog).toBeHidden();
      const summary = page.getByTestId('image-summary');
      await expect(summary).toContainText('pi-os.img.gz');
      await expect(page.getByTestId('catalog-choice')).toHaveText('From the catalog: Pi OS Lite');
      await expect(page.getByRole('textbox', { name: 'Expected SHA-256' })).toHaveValue(sha);
    });

    await app.selectDrive(drive.path);
    await app.flash();
    await app.waitForSuccess();
    await app.step('the checksum matched and the drive holds the image', async () => {
      await expect(page.getByTestId('checksum-result')).toHaveText('Checksum matches');
      expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
    });

    await app.step('reloaded, the app opens the same catalog again', async () => {
      await page.getByRole('button', { name: 'Flash another' }).click();
      await page.reload();
      await page.getByRole('button', { name: 'Choose from a catalog' }).click();
      await expect(dialog).toContainText(server.url('os_list.json'));
      await expect(list.getByRole('button', { name: /^Pi OS Lite/ })).toBeVisible();
      // Read while the dialog opened (Cancel had the focus meanwhile), its first entry has it now.
      await expect(list.getByRole('button', { name: /^Pi OS Lite/ })).toBeFocused();
    });
  } finally {
    await server.stop();
  }
});

test('where the download records no size (.bz2), the catalog’s own marks drives too small before anything is written', async ({ app, loops, images }) => {
  const page = app.page;
  const small = loops.create(16 * MiB, { fill: 'garbage' });
  const image = Buffer.alloc(24 * MiB);
  image.set(readFileSync(images.random('head.bin', MiB, 0x62)));
  writeFileSync(path.join(images.dir, 'big-os.img'), image);
  execFileSync('bzip2', ['-1', path.join(images.dir, 'big-os.img')]);
  writeFileSync(path.join(images.dir, 'sized.json'), JSON.stringify({ os_list: [{ name: 'Big OS', url: 'big-os.img.bz2', extract_size: image.length }] }));
  const server = await serveFolder(images.dir);
  try {
    const dialog = app.catalogDialog;
    await app.openCatalog(server.url('sized.json'));
    await dialog.getByRole('list').getByRole('button', { name: /^Big OS/ }).click();
    await expect(dialog).toBeHidden();
    await app.step('the image step gives the catalog’s size, and the small drive cannot be chosen', async () => {
      await expect(page.getByTestId('image-summary')).toContainText('25.2 MB unpacked');
      await app.openTargets();
      await app.waitForDrive(small.path);
      await expect(app.driveRow(small.path)).toContainText('too small: the image needs 25.2 MB, the drive holds 16.8 MB');
      await expect(app.driveCheckbox(small.path)).toBeDisabled();
    });
  } finally {
    await server.stop();
  }
});

test('a group is opened from the keyboard: the focus stays on it while it is read, Escape still closes, and a group that fails says which', async ({ app, images }) => {
  const page = app.page;
  const many = Array.from({ length: 300 }, (_, i) => ({ name: `System ${i}`, description: 'One of hundreds', url: `system-${i}.img.xz` }));
  writeFileSync(path.join(images.dir, 'hundreds.json'), JSON.stringify({ os_list: many }));
  images.random('slow.img', MiB, 0x63);
  const server = await serveFolder(images.dir);
  // The group's list answers after 5 s: still being read while the dialog is looked at.
  const slow = await serveFolder(images.dir, { holdFrom: 1, holdMs: 5000 });
  writeFileSync(
    path.join(images.dir, 'groups.json'),
    JSON.stringify({
      os_list: [
        { name: 'Hundreds of systems', description: 'A long list, read slowly', subitems_url: slow.url('hundreds.json') },
        { name: 'Withdrawn systems', description: 'A list that is gone', subitems_url: 'withdrawn.json' },
        { name: 'Slow image', description: 'Answers after 5 s', url: slow.url('slow.img') },
      ],
    }),
  );
  const dialog = app.catalogDialog;
  const list = dialog.getByRole('list');
  const hundreds = list.getByRole('button', { name: /^Hundreds of systems/ });
  try {
    await page.getByRole('button', { name: 'Choose from a catalog' }).click();
    await dialog.getByRole('button', { name: 'Use another catalog' }).click();
    await dialog.getByRole('textbox', { name: /Catalog address/ }).fill(server.url('groups.json'));
    await page.keyboard.press('Enter');
    await expect(hundreds).toBeFocused();
    await app.step('a group being read keeps the focus, and says it is opening', async () => {
      await page.keyboard.press('Enter');
      await expect(dialog.getByRole('status')).toHaveText('Reading this group of the catalog…');
      await expect(hundreds).toContainText('Opening…');
      // Disabled, it dropped the focus on the page.
      await expect(hundreds).toBeFocused();
    });
    await app.step('Escape closes the dialog mid-read', async () => {
      await page.keyboard.press('Escape');
      await expect(dialog).toBeHidden();
    });
    await app.step('a group that fails says which one, and keeps the focus', async () => {
      await page.getByRole('button', { name: 'Choose from a catalog' }).click();
      const withdrawn = list.getByRole('button', { name: /^Withdrawn systems/ });
      await app.tabTo(withdrawn);
      await page.keyboard.press('Enter');
      await expect(dialog.getByRole('alert')).toContainText(`“Withdrawn systems” could not be opened. The server answered 404 Not Found for ${server.url('withdrawn.json')}`);
      await expect(withdrawn).toBeFocused();
    });
    await app.step('an image being checked is said to screen readers too, and keeps the focus', async () => {
      const image = list.getByRole('button', { name: /^Slow image/ });
      await app.tabTo(image);
      await page.keyboard.press('Enter');
      await expect(dialog.getByRole('status')).toHaveText('Checking Slow image…');
      await expect(image).toBeFocused();
      await page.keyboard.press('Escape');
      await expect(dialog).toBeHidden();
    });
  } finally {
    await server.stop();
    await slow.stop();
  }
});

test('a catalog of hundreds is walked with Up, Down, Home and End, not Tabbed through', async ({ app, images }) => {
  const page = app.page;
  const many = Array.from({ length: 300 }, (_, i) => ({ name: `System ${i}`, description: 'One of hundreds', url: `system-${i}.img.xz` }));
  writeFileSync(path.join(images.dir, 'hundreds.json'), JSON.stringify({ os_list: many }));
  const server = await serveFolder(images.dir);
  const dialog = app.catalogDialog;
  const list = dialog.getByRole('list');
  try {
    await page.getByRole('button', { name: 'Choose from a catalog' }).click();
    await dialog.getByRole('button', { name: 'Use another catalog' }).click();
    await dialog.getByRole('textbox', { name: /Catalog address/ }).fill(server.url('hundreds.json'));
    await page.keyboard.press('Enter');
    await expect(list.getByRole('button', { name: /^System 0\b/ })).toBeFocused();
    await app.step('End, Up, Down and Home move the focus along the list', async () => {
      await page.keyboard.press('End');
      await expect(list.getByRole('button', { name: /^System 299\b/ })).toBeFocused();
      await page.keyboard.press('ArrowUp');
      await expect(list.getByRole('button', { name: /^System 298\b/ })).toBeFocused();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown'); // past the end: stays on the last
      await expect(list.getByRole('button', { name: /^System 299\b/ })).toBeFocused();
      await page.keyboard.press('Home');
      await expect(list.getByRole('button', { name: /^System 0\b/ })).toBeFocused();
      await page.keyboard.press('ArrowDown');
      await expect(list.getByRole('button', { name: /^System 1\b/ })).toBeFocused();
    });
  } finally {
    await server.stop();
  }
});

test('a catalog image whose zip holds two images does not check either against the catalog’s one SHA-256, and says so', async ({ app, images }) => {
  const page = app.page;
  const one = images.random('one.img', MiB, 1);
  const two = images.random('two.img', MiB, 2);
  execFileSync('zip', ['-qj', path.join(images.dir, 'both.zip'), one, two]);
  const sha = createHash('sha256').update(readFileSync(one)).digest('hex');
  writeFileSync(path.join(images.dir, 'zip.json'), JSON.stringify({ os_list: [{ name: 'Zip OS', url: 'both.zip', extract_sha256: sha }] }));
  const server = await serveFolder(images.dir);
  const dialog = app.catalogDialog;
  try {
    await app.openCatalog(server.url('zip.json'));
    await dialog.getByRole('list').getByRole('button', { name: /^Zip OS/ }).click();
    await expect(dialog).toBeHidden();
    await app.chooseArchiveEntry('two.img');
    await app.step('the SHA-256 is not filled in (checked against two.img it failed the flash as a damaged download), and the step says why', async () => {
      await expect(page.getByText(`The catalog gives one SHA-256 for Zip OS, but its archive holds 2 images: it is not checked.`)).toBeVisible();
      await expect(page.getByText(sha)).toBeVisible();
      // Within its step card: the SHA-256, one long word, pushed the notice past both its edges.
      const notice = await page.getByText(sha).boundingBox();
      const card = await page.locator('section.step').first().boundingBox();
      expect(notice!.x).toBeGreaterThanOrEqual(card!.x);
      expect(notice!.x + notice!.width).toBeLessThanOrEqual(card!.x + card!.width);
      await expect(page.getByRole('button', { name: 'Flash!' })).toBeVisible();
      await expect(page.getByRole('textbox', { name: 'Expected SHA-256' })).toHaveCount(0);
    });
  } finally {
    await server.stop();
  }
});
