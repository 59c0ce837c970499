// "Keep downloads for the next flash": the first flash of an address downloads it and keeps it;
// flashing the same address again reads the kept copy (the server is only asked whether the file
// changed, and answers 304), and the drive still ends up with the image.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';
import { serveFolder } from './support/image-server';
import { randomBytes } from './support/images';

const MiB = 1024 * 1024;

test('with "Keep downloads" on, the second flash of a URL needs no download', async ({ app, loops, images }) => {
  const drive = loops.create(32 * MiB);
  const image = randomBytes(6 * MiB, 0x99);
  writeFileSync(path.join(images.dir, 'kept.img.gz'), gzipSync(image, { level: 1 }));
  const server = await serveFolder(images.dir);
  const page = app.page;
  try {
    await app.step('turn on "Keep downloads for the next flash" (off by default)', async () => {
      await page.getByRole('button', { name: 'Settings' }).click();
      const dialog = page.getByRole('dialog', { name: 'Settings' });
      const keep = dialog.getByRole('switch', { name: 'Keep downloads for the next flash' });
      await expect(keep).not.toBeChecked();
      await keep.check();
      await expect(keep).toBeChecked();
      await dialog.getByRole('button', { name: 'Close' }).click();
    });
    await app.useUrl(server.url('kept.img.gz'), 'kept.img.gz');
    await app.selectDrive(drive.path);
    await app.flash();
    await app.waitForSuccess();
    const afterFirst = server.hits('kept.img.gz');

    await app.step('flash the same address again onto the emptied drive', async () => {
      execFileSync('blkdiscard', ['-f', drive.path]);
      expect(readBacking(drive, 0, MiB).every((b) => b === 0)).toBe(true);
      await page.getByRole('button', { name: 'Flash another', exact: true }).click();
      await expect(page.getByTestId('image-summary')).toContainText('kept.img.gz');
    });
    await app.flash();
    await app.waitForSuccess();

    await test.step('the server did not send the image again, and the drive holds it', async () => {
      expect(server.hits('kept.img.gz')).toBe(afterFirst);
      expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
    });
  } finally {
    await server.stop();
  }
});
