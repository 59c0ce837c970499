// A narrow window (480 px, a phone-sized browser or a tiled desktop window): the outcome of a flash
// fits across, without a sideways scroll bar, for a success with long hashes and for a failure.

import { expect, test } from './fixtures';

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
