// Two drives, one of which fails to write (a loop device on a FUSE file whose writes fail with EIO
// in one range, electron/test-support/faulty-fs.py): the other is written and verified. The end is
// neither a success nor a failure: the app says which drive is ready, which failed and why.

import { createFaultyDrive, fuseSkipReason } from '../electron/test-support/fuse-faults';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('one drive of two failing ends in a partial result that names each drive, with no success tick, and offers to flash it again', async ({ app, loops, images }) => {
  const reason = fuseSkipReason();
  if (reason) console.log(`[e2e] skipping: ${reason}`);
  test.skip(reason !== undefined, reason);
  const good = loops.create(48 * MiB, { fill: 'garbage' });
  const imagePath = images.random('two-cards.img', 24 * MiB, 11);
  const bad = await createFaultyDrive({ size: 48 * MiB, eioWrite: [[12 * MiB, 12 * MiB + 65536]] });
  try {
    await app.selectImage(imagePath);
    await app.selectDrives([good.path, bad.path]);
    await app.flash();

    const view = app.page.getByTestId('flash-partial');
    await app.step('the result is partial: one of two drives', async () => {
      await expect(app.page.getByRole('heading', { name: 'Flashed 1 of 2 drives' })).toBeVisible({ timeout: 90_000 });
      await expect(app.page.getByRole('heading', { name: /Flash complete/ })).toHaveCount(0);
      await expect(app.page.getByTestId('flash-success')).toHaveCount(0);
      await expect(view).toContainText(`two-cards.img was written to`);
      await expect(view).toContainText(`(${good.path}). One drive failed and will not boot until it is flashed again.`);
    });

    await app.step('each drive says what became of it, the failed one why and what to do', async () => {
      const rows = view.getByRole('list', { name: 'Drives' }).getByRole('listitem');
      await expect(rows).toHaveCount(2);
      await expect(rows.filter({ hasText: good.path })).toContainText('Written and verified');
      const failed = rows.filter({ hasText: bad.path });
      await expect(failed).toContainText('The drive failed to write');
      await expect(failed).toContainText(`Writing ${bad.path} failed at byte`);
      await expect(failed).toContainText('Try another port or card reader');
    });

    await app.step('the icon is a warning, not the success tick', async () => {
      // --success is #0b7a3b; --warning is #8f5500.
      await expect(view.locator('.result-icon')).toHaveCSS('color', 'rgb(143, 85, 0)');
      await expect(view.locator('.result-icon')).not.toHaveCSS('color', 'rgb(11, 122, 59)');
    });

    await app.step('at 480 px the partial result still fits across', async () => {
      await app.page.setViewportSize({ width: 480, height: 800 });
      const seen = await app.horizontalOverflow();
      expect(seen.wide, JSON.stringify(seen)).toEqual([]);
      expect(seen.scrollWidth).toBeLessThanOrEqual(seen.clientWidth);
    });

    await app.step('"Flash the failed drive again" flashes that drive alone, and it fails again the same way', async () => {
      await app.page.setViewportSize({ width: 1000, height: 800 });
      const goodWrites = good.bytesWritten();
      await expect(view.getByRole('button', { name: 'Flash another' })).toBeVisible();
      await view.getByRole('button', { name: 'Flash the failed drive again' }).click();
      await expect(app.page.getByRole('heading', { name: 'Flashing failed' })).toBeVisible({ timeout: 90_000 });
      await expect(app.page.getByTestId('flash-failure')).toContainText(`Writing ${bad.path} failed at byte`);
      expect(good.bytesWritten(), 'the drive that was written is left alone').toBe(goodWrites);
      await app.page.getByRole('button', { name: 'Back', exact: true }).click();
      await expect(app.page.getByTestId('target-summary')).toContainText(bad.path);
      await expect(app.page.getByTestId('target-summary')).not.toContainText(good.path);
    });
  } finally {
    bad.dispose();
  }
});
