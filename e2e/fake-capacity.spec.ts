// A drive that says "full" far below the capacity it claims is not too small for the image: it is
// counterfeit (it reports more space than it has) or failing, and the app must not advise a larger
// drive. The engine reports it as IMAGE_TOO_LARGE with the byte it stopped at (details.offset;
// syscode ENOSPC from a write, electron/engine/targets/target.ts). A loop device cannot produce
// ENOSPC (the loop driver turns a backing file's ENOSPC into EIO), so the drive here really stops
// at 12 MiB with EIO (electron/test-support/faulty-fs.py), and the host's report of that is
// rewritten on its way to the page into the ENOSPC report the engine sends for a full device.

import { createFaultyDrive, fuseSkipReason } from '../electron/test-support/fuse-faults';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

interface Frame {
  t: string;
  name?: string;
  payload?: { jobId: string; error?: { code: string; message: string; details?: Record<string, unknown> } };
}

test('a drive that fills up far below its claimed size is called possibly counterfeit, not too small', async ({ app, images }) => {
  const reason = fuseSkipReason();
  if (reason) console.log(`[e2e] skipping: ${reason}`);
  test.skip(reason !== undefined, reason);
  const page = app.page;
  const imagePath = images.random('fits-easily.img', 24 * MiB, 5);
  const drive = await createFaultyDrive({ size: 64 * MiB, eioWrite: [[12 * MiB, 64 * MiB]] });
  try {
    await page.routeWebSocket(/\/ws\?/, (socket) => {
      const host = socket.connectToServer();
      host.onMessage((message) => {
        const frame = JSON.parse(String(message)) as Frame;
        const error = frame.payload?.error;
        if (frame.t === 'evt' && frame.name === 'flash.error' && error?.code === 'WRITE_IO_ERROR') {
          const offset = error.details?.offset;
          frame.payload!.error = {
            code: 'IMAGE_TOO_LARGE',
            message: `${drive.path} is full at byte ${String(offset)}: the image does not fit.`,
            details: { path: drive.path, offset, syscode: 'ENOSPC', driveIncomplete: true },
          };
          socket.send(JSON.stringify(frame));
          return;
        }
        socket.send(message);
      });
    });
    await page.reload(); // the page's socket now goes through the route

    await app.selectImage(imagePath);
    await app.selectDrive(drive.path);
    await app.flash();
    await app.waitForFailure();

    await app.step('the drive is said to have filled early, naming where it stopped and what it claims', async () => {
      await expect(page.getByTestId('error-kind')).toHaveText('The drive filled up early');
      // Where it stopped is the failing write's start: at or a little past 12 MiB, as the writes in flight end.
      const said = page.getByTestId('error-text');
      await expect(said).toContainText(/\(\/dev\/loop\d+\) stopped taking data at 1\d\.\d MB \(([\d,]+) bytes\), although it claims to hold 67\.1 MB \(67,108,864 bytes\)\./);
      const stopped = Number(/stopped taking data at [\d.]+ MB \(([\d,]+) bytes\)/.exec((await said.textContent()) ?? '')?.[1]?.replace(/,/g, ''));
      expect(stopped).toBeGreaterThanOrEqual(12 * MiB);
      expect(stopped).toBeLessThan(16 * MiB);
      await expect(page.getByText('It may be a counterfeit drive that reports more space than it has, or it is failing.')).toBeVisible();
      await expect(page.getByText('Use a larger drive')).toHaveCount(0);
      await expect(page.getByText('The drive’s contents are now incomplete')).toBeVisible();
    });
    await app.step('flashing the same drive again cannot help, so it is not offered', async () => {
      await expect(page.getByRole('button', { name: 'Try again' })).toHaveCount(0);
      await expect(page.getByRole('button', { name: 'Back', exact: true })).toBeVisible();
    });
  } finally {
    drive.dispose();
  }
});
