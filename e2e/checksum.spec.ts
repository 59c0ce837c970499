// A pasted SHA-256 that the image does not have: the flash ends in the failure view saying so, and
// the drive is left unbootable (its held-back head zeroed, never the image's partition table).

import { HELD_BACK } from '../electron/engine/head-layout';
import { probeDrive } from '../electron/test-support/drive-probe';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('a wrong pasted checksum fails the flash and leaves nothing bootable', async ({ app, loops, images }) => {
  const drive = loops.create(64 * MiB, { fill: 'garbage' });
  const imagePath = images.random('checked-os.img', 8 * MiB, 0x77);

  await app.selectImage(imagePath);
  await app.step('a malformed checksum is explained and holds Flash! back', async () => {
    await app.page.getByText('Check against a SHA-256').click();
    const field = app.page.getByRole('textbox', { name: 'Expected SHA-256' });
    await field.fill('12345');
    await expect(app.page.getByText('A SHA-256 has 64 hexadecimal digits; this has 5.')).toBeVisible();
    await expect(field).toHaveAttribute('aria-invalid', 'true');
    await field.fill('');
  });
  await app.pasteChecksum('0f'.repeat(32));
  await expect(app.page.getByText('Checked while writing; a mismatch fails the flash.')).toBeVisible();
  await app.selectDrive(drive.path);
  await app.flash();
  await app.waitForFailure();

  await app.step('the failure names the checksum', async () => {
    await expect(app.page.getByTestId('error-kind')).toHaveText('Checksum mismatch');
    await expect(app.page.getByTestId('error-text')).toContainText('not the expected ' + '0f'.repeat(32));
    await expect(app.page.getByTestId('flash-failure')).toContainText(/checksum/i);
    await expect(app.page.getByText('The image is not the one the checksum describes.')).toBeVisible();
  });
  await test.step('the start of the drive is zeros and blkid finds nothing on it: no partition table, nothing bootable', async () => {
    expect(readBacking(drive, 0, HELD_BACK).every((b) => b === 0)).toBe(true);
    expect(probeDrive(drive.path)).toBe('');
  });
});

test('emptying the expected SHA-256 to paste another keeps the field open, with the focus in it', async ({ app, images }) => {
  await app.selectImage(images.random('paste-twice.img', 64 * 1024, 0x78));
  const page = app.page;
  const field = page.getByRole('textbox', { name: 'Expected SHA-256' });
  await app.step('type a hash, then select it all and delete it', async () => {
    await page.getByText('Check against a SHA-256').click();
    await field.click();
    await page.keyboard.type('c0ffee');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Backspace');
  });
  await app.step('the field is still there, focused, and takes the next hash', async () => {
    await expect(field).toBeVisible();
    await expect(field).toBeFocused();
    await page.keyboard.type('a'.repeat(64));
    await expect(field).toHaveValue('a'.repeat(64));
    await expect(page.getByText('Checked while writing; a mismatch fails the flash.')).toBeVisible();
  });
  await app.step('another image starts with the section folded and empty', async () => {
    await app.selectImage(images.random('next.img', 64 * 1024, 0x79));
    await expect(field).toBeHidden();
  });
});
