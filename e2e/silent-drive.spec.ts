// A drive that stops answering mid-flash (a dying card, a loose adapter): the app names it while it
// waits, instead of showing a frozen bar, and Cancel still ends the flash in seconds, saying to
// unplug the drive. The drive is a loop device on a FUSE file whose writes hang after 6 MiB
// (electron/test-support/faulty-fs.py) until the test lets them go.

import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createFaultyDrive, fuseSkipReason } from '../electron/test-support/fuse-faults';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('a drive that stops answering is named while the app waits, and Cancel still ends the flash', async ({ app, images }) => {
  const reason = fuseSkipReason();
  if (reason) console.log(`[e2e] skipping: ${reason}`);
  test.skip(reason !== undefined, reason);
  const imagePath = images.random('silent-card-demo.img', 16 * MiB);
  const release = path.join(path.dirname(imagePath), 'release-silent-drive');
  const drive = await createFaultyDrive({ size: 32 * MiB, stallAfter: 6 * MiB, stallUntil: release });
  try {
    await app.selectImage(imagePath);
    await app.selectDrive(drive.path);
    await app.flash();

    await app.step('after ~10 s of silence the app says which drive stopped answering', async () => {
      const notice = app.page.getByTestId('stall-notice');
      await expect(notice).toBeVisible({ timeout: 45_000 });
      await expect(notice).toContainText(`(${drive.path}) has not responded for`);
      await expect(notice).toContainText('Still waiting');
    });

    await app.cancel();
    await app.step('the cancel ends in seconds although the drive never answered', async () => {
      await expect(app.page.getByRole('heading', { name: 'Flashing cancelled' })).toBeVisible({ timeout: 15_000 });
      await expect(app.page.getByTestId('error-text')).toContainText(`${drive.path} is not responding and still has a write pending`);
      await expect(app.page.getByText('Unplug the drive, plug it back in')).toBeVisible();
    });
  } finally {
    writeFileSync(release, ''); // the hung write ends, so the drive can be detached
    drive.dispose();
  }
});
