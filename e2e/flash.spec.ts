// The main story: choose an image, see the loop drive, flash it, watch the progress, see success,
// and find exactly the image's bytes on the device.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('flashing an image writes its exact bytes and reports a verified success', async ({ app, loops, images }) => {
  const drive = loops.create(64 * MiB, { fill: 'garbage' });
  const imagePath = images.random('demo-os.img', 24 * MiB);
  // About two seconds of writing, so the progress view is there to be watched.
  loops.throttle(drive, 12_000_000);

  await app.selectImage(imagePath);
  await app.selectDrive(drive.path);
  await app.flash();
  await app.waitForProgress(5);
  await app.waitForSuccess();

  await test.step('progress only moved forward within each phase and reached 100%', async () => {
    const seen = await app.progressSeen();
    const writing = seen.filter((s) => s.phase === 'writing').map((s) => s.percent);
    expect(writing.length).toBeGreaterThan(0);
    expect(writing).toEqual([...writing].sort((a, b) => a - b));
    expect(Math.max(...seen.map((s) => s.percent))).toBe(100);
  });

  const image = readFileSync(imagePath);
  await test.step('the success view tells the truth, and so does the window title', async () => {
    await expect(app.page).toHaveTitle('Flash complete! · Blockwise');
    await expect(app.page.getByTestId('verify-result')).toHaveText('Read back and matched');
    await expect(app.page.getByTestId('image-sha256')).toHaveText(createHash('sha256').update(image).digest('hex'));
  });

  await test.step("the device holds the image's bytes, and what followed them is untouched", async () => {
    expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
    const after = readBacking(drive, image.length, MiB);
    expect(after.every((b) => b === 0)).toBe(false); // still the garbage fill: nothing written past the image
  });
});
