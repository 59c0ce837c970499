// An image a little larger than the drive: the sizes are said so a person can compare them (they
// are the same to one decimal, so they are said to the byte as well), and "Try again" is not
// offered, since the same image cannot fit the same drive on another try.

import { execFileSync } from 'node:child_process';
import { expect, test } from './fixtures';
import { serveFolder } from './support/image-server';

const MiB = 1024 * 1024;

test('a drive 4 KiB too small is greyed out with both sizes to the byte', async ({ app, loops, images }) => {
  const drive = loops.create(32 * MiB, { fill: 'garbage' });
  images.random('huge.img', 32 * MiB + 4096, 3);
  execFileSync('sh', ['-c', 'tar -cf - huge.img | gzip -1 > huge.tar.gz && rm huge.img'], { cwd: images.dir });
  await app.selectImage(`${images.dir}/huge.tar.gz`);
  await app.openTargets();
  await app.waitForDrive(drive.path);
  await app.step('the reason compares the sizes to the byte', async () => {
    await expect(app.driveCheckbox(drive.path)).toBeDisabled();
    await expect(app.driveRow(drive.path)).toContainText(
      `(${drive.path}) is too small: the image needs 33.6 MB (33,558,528 bytes), the drive holds 33.6 MB (33,554,432 bytes).`,
    );
  });
});

test('an image found too large while writing says the drive\'s size in words, with no "Try again"', async ({ app, loops, images }) => {
  const drive = loops.create(32 * MiB, { fill: 'garbage' });
  images.random('huge.img', 32 * MiB + 4096, 3);
  execFileSync('gzip', ['-1', 'huge.img'], { cwd: images.dir });
  // Without ranges the gzip trailer, where its size is, cannot be read before the flash.
  const server = await serveFolder(images.dir, { noRanges: true });
  try {
    await app.useUrl(server.url('huge.img.gz'), 'huge.img.gz');
    await app.selectDrive(drive.path);
    await app.flash();
    await app.waitForFailure();
    await app.step('the drive\'s size reads as a size, with its exact byte count', async () => {
      await expect(app.page.getByTestId('error-kind')).toHaveText('The image does not fit');
      await expect(app.page.getByTestId('error-text')).toContainText(`(${drive.path}) holds 33.6 MB (33,554,432 bytes), and the image goes on past that.`);
      await expect(app.page.getByText('Use a larger drive.')).toBeVisible();
    });
    await app.step('only Back is offered: the same image cannot fit this drive on another try', async () => {
      await expect(app.page.getByRole('button', { name: 'Try again' })).toHaveCount(0);
      await expect(app.page.getByRole('button', { name: 'Back', exact: true })).toBeVisible();
    });
  } finally {
    await server.stop();
  }
});
