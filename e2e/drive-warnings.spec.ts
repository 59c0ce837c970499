// Warnings from shared/drive-rules.ts are shown on the drive's row without disabling it: a 200 GiB
// "drive" (a sparse loop device) is unusually big for install media, and may still be chosen.

import { expect, test } from './fixtures';

const GiB = 1024 ** 3;

test('an unusually large drive carries a warning but can still be selected', async ({ app, loops, images }) => {
  const big = loops.create(200 * GiB);
  await app.selectImage(images.random('small.img', 1024 * 1024));
  await app.openTargets();
  await app.waitForDrive(big.path);
  await app.step('the row warns, and the checkbox stays usable and describes the warning', async () => {
    const row = app.driveRow(big.path);
    await expect(row.locator('.reason-warning')).toContainText('unusually big for install media');
    const checkbox = app.driveCheckbox(big.path);
    await expect(checkbox).toBeEnabled();
    await expect(checkbox).toHaveAccessibleDescription(/unusually big for install media/);
    await checkbox.check();
    await expect(checkbox).toBeChecked();
  });
  await app.closeTargets();
  await expect(app.page.getByTestId('target-summary')).toContainText(big.path);
});
