// Text a person must read — a refusal in the file chooser, the notice that a drive left the
// selection, the line under a valid checksum, each drive's "written and verified" — reaches WCAG AA
// contrast (4.5:1) against what is behind it, in the light theme (the dark one already did).

import type { Locator } from '@playwright/test';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

// Runs in the page: the text's colour against the first opaque background behind it.
const CONTRAST = `(el) => {
  const parse = (c) => { const p = c.match(/rgba?\\(([^)]+)\\)/)[1].split(/[ ,/]+/).filter(Boolean).map(Number); return { rgb: p.slice(0, 3), a: p.length > 3 ? p[3] : 1 }; };
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  let bg = [255, 255, 255];
  for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c.a > 0.5) { bg = c.rgb; break; } }
  const [a, b] = [lum(parse(getComputedStyle(el).color).rgb), lum(bg)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}`;

// A Function built from the page script above (no DOM types in this file), called on the element.
const measure = new Function('el', `return (${CONTRAST})(el);`) as (el: unknown) => number;

async function contrast(target: Locator): Promise<number> {
  await expect(target).toBeVisible();
  return target.evaluate(measure);
}

test('warnings, errors and success words are readable against their backgrounds', async ({ app, loops, images }) => {
  const page = app.page;
  const small = loops.create(8 * MiB);
  const other = loops.create(8 * MiB);
  const seen: Record<string, number> = {};

  await app.selectImage(images.random('fits.img', 1 * MiB, 1));
  await app.selectDrives([small.path, other.path]);
  await app.step('a file that is no image is refused in the chooser', async () => {
    await page.getByRole('button', { name: 'Select image', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Choose an image on this computer' });
    await expect(dialog.getByRole('list', { name: /^Contents of / })).toBeVisible();
    await dialog.getByRole('textbox', { name: 'Path' }).fill(images.random('notes.txt', 0));
    await dialog.getByRole('button', { name: 'Open', exact: true }).click();
    seen['file chooser error'] = await contrast(dialog.locator('.inline-error'));
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
  });
  await app.step('a valid pasted checksum is acknowledged', async () => {
    await app.pasteChecksum('ab'.repeat(32));
    seen['checksum accepted'] = await contrast(page.locator('.field-ok'));
    await page.getByRole('textbox', { name: 'Expected SHA-256' }).fill('');
  });
  await app.flash();
  await app.waitForSuccess();
  await app.step('each drive is said to be written and verified', async () => {
    seen['written and verified'] = await contrast(page.locator('.result-target-state').first());
    await page.getByRole('button', { name: 'Flash another' }).click();
  });
  await app.step('a larger image takes the drives out of the selection, saying so', async () => {
    await app.selectImage(images.random('too-big.img', 12 * MiB, 2));
    seen['drive removed'] = await contrast(page.getByTestId('dropped-drives').locator('p').last());
  });
  for (const [what, ratio] of Object.entries(seen)) expect.soft(ratio, `${what}: ${ratio.toFixed(2)}:1`).toBeGreaterThanOrEqual(4.5);
});
