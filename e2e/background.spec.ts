// A page taller than the window (a narrow window stacks the three steps): scrolled down, the
// background is one even colour, with no band where the top's glow starts over a window height down.

import { expect, test } from './fixtures';

test('scrolled down a narrow window, the background has no seam one window height down', async ({ app }) => {
  const page = app.page;
  const height = 640;
  await page.setViewportSize({ width: 380, height });
  await expect(page.getByRole('button', { name: 'Flash!', exact: true })).toBeVisible();
  await app.step('scroll to the bottom of the stacked steps', async () => {
    const scrollHeight = (await page.evaluate('document.documentElement.scrollHeight')) as number;
    expect(scrollHeight).toBeGreaterThan(height + 200);
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)');
  });
  await test.step('the margin just above and just below one window height looks the same', async () => {
    // Left of the cards (they start 12 px in), a few px either side of page y = 640.
    const top = (await page.evaluate('window.scrollY')) as number;
    const strip = (pageY: number) => page.screenshot({ clip: { x: 1, y: pageY - top, width: 6, height: 4 }, animations: 'disabled' });
    const above = await strip(height - 12);
    const below = await strip(height + 8);
    expect(below.equals(above), 'the background changes colour across y = 640').toBe(true);
  });
});
