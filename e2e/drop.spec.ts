// Dragging an image onto the window. A browser never reveals a dropped file's path, so the
// browser host invites no drop: dragging a file over it says why it cannot be opened that way. (Electron's preload knows a real file's path and opens
// it; Playwright cannot drop a real file, so both shells check the explanation.)

import { expect, test } from './fixtures';

test('dropping an image onto the window', async ({ app, images }, testInfo) => {
  const imagePath = images.random('dropped.img', 4 * 1024 * 1024);
  const page = app.page;
  const browser = testInfo.project.name === 'browser';
  const overlay = browser ? 'A browser keeps a dropped file’s location private' : 'Drop the image to select it';
  await app.step('the image step invites a drop only where one can work', async () => {
    const hint = page.getByRole('region', { name: 'Image' }).locator('.step-hint');
    await expect(hint).toContainText('on this computer, on the web, or from a catalog of operating systems.');
    if (browser) await expect(hint).not.toContainText('drop it here');
    else await expect(hint).toContainText('You can also drop it here.');
  });
  await app.step('drag a file over the window and drop it', async () => {
    // A File made in the page: it has a name but no place on disk (a string: no DOM types here).
    const transfer = await page.evaluateHandle(`(() => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(512)], 'dropped.img'));
      return data;
    })()`);
    await page.dispatchEvent('body', 'dragenter', { dataTransfer: transfer });
    await expect(page.getByText(overlay)).toBeVisible();
    if (browser) await expect(page.getByText('Drop the image to select it')).toHaveCount(0);
    await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
    await expect(page.getByText(overlay)).toBeHidden();
  });
  await app.step('a file without a known location is explained, not opened', async () => {
    const notice = page.getByRole('status').filter({ hasText: '“dropped.img”' });
    await expect(notice).toContainText(testInfo.project.name === 'browser' ? 'keeps the location' : 'could not tell where');
    await expect(notice).toContainText('Select image');
    await expect(page.getByTestId('image-summary')).toHaveCount(0);
  });
  // The same file through Select image works.
  await app.selectImage(imagePath);
  await expect(page.getByRole('status').filter({ hasText: '“dropped.img”' })).toHaveCount(0);
});

test('a file dragged over the window while flashing is refused, saying why', async ({ app, loops, images }) => {
  const drive = loops.create(32 * 1024 * 1024);
  // About 4 s of writing: time to drag something over the window.
  loops.throttle(drive, 4_000_000);
  await app.selectImage(images.random('busy.img', 16 * 1024 * 1024));
  await app.selectDrive(drive.path);
  await app.flash();
  const page = app.page;
  await app.step('drag a file over the window mid-flash', async () => {
    const transfer = await page.evaluateHandle(`(() => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(512)], 'next.img'));
      return data;
    })()`);
    await page.dispatchEvent('body', 'dragenter', { dataTransfer: transfer });
    await expect(page.getByText('Blockwise is flashing, so the image cannot change now.')).toBeVisible();
    await expect(page.getByText('Drop the image to select it')).toHaveCount(0);
    await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
    await expect(page.getByText('Blockwise is flashing')).toBeHidden();
    await expect(page.getByTestId('flash-progress')).toBeVisible();
  });
  await app.waitForSuccess();
  await expect(page.getByText('busy.img was written to')).toBeVisible();
});
