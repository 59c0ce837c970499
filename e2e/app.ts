// The app as a person uses it, one named step at a time, so specs read like a story. Every step
// saves a screenshot into the test's output folder (test-results/, gitignored).

import { expect, test, type Locator, type Page, type TestInfo } from '@playwright/test';
import * as path from 'node:path';

export type Shell = 'browser' | 'electron';

export interface ProgressSample {
  phase: string;
  percent: number;
}

// Runs in the page (a string, since this file is type-checked without the DOM).
const PROGRESS_RECORDER = `(() => {
  window.__progressSeen = [];
  window.__progressObserver?.disconnect();
  const sample = () => {
    const view = document.querySelector('[data-testid="flash-progress"]');
    const percent = document.querySelector('[data-testid="flash-percent"]')?.textContent;
    if (view && percent) window.__progressSeen.push({ phase: view.getAttribute('data-phase') ?? '', percent: Number.parseInt(percent, 10) });
  };
  window.__progressObserver = new MutationObserver(sample);
  window.__progressObserver.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
})()`;

function devicePattern(devicePath: string): RegExp {
  return new RegExp(`${devicePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!\\d)`);
}

export class App {
  private shots = 0;

  constructor(
    readonly page: Page,
    private readonly testInfo: TestInfo,
    /** Electron: makes the next native open dialog answer with this path. */
    private readonly answerNativeDialog?: (imagePath: string) => Promise<void>,
  ) {}

  /** Runs a named step and saves a screenshot of how it ended. */
  async step<T>(title: string, body: () => Promise<T>): Promise<T> {
    return test.step(title, async () => {
      const value = await body();
      await this.screenshot(title);
      return value;
    });
  }

  async screenshot(title: string, file?: string): Promise<void> {
    const name = `${String(++this.shots).padStart(2, '0')}-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}.png`;
    await this.page.mouse.move(0, 0); // no hover highlight on whatever the last click left under the pointer
    await this.page.screenshot({ path: file ?? this.testInfo.outputPath(name), animations: 'disabled' });
  }

  /** Presses Tab until `target` has the focus, as a keyboard-only user would. */
  async tabTo(target: Locator, maxPresses = 30): Promise<void> {
    for (let i = 0; i < maxPresses; i++) {
      if (await target.evaluate((el) => el === el.ownerDocument.activeElement).catch(() => false)) return;
      await this.page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${target}`);
  }

  /** Elements reaching past the window's right edge (tag.class), and the page's widths: a sideways scroll if any. */
  async horizontalOverflow(): Promise<{ scrollWidth: number; clientWidth: number; wide: string[] }> {
    return this.page.evaluate(`(() => {
      const width = document.documentElement.clientWidth;
      // Clipped by an ancestor that itself fits (an ellipsis), an element is not in the way.
      const clipped = (el) => {
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
          if (getComputedStyle(up).overflowX !== 'visible' && up.getBoundingClientRect().right <= width + 0.5) return true;
        }
        return false;
      };
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > width + 0.5 && !clipped(el))
        .map((el) => el.tagName.toLowerCase() + '.' + [...el.classList].join('.'));
      return { scrollWidth: document.documentElement.scrollWidth, clientWidth: width, wide };
    })()`);
  }

  async waitForFailure(): Promise<void> {
    await this.step('see the failure view', async () => {
      await expect(this.page.getByRole('heading', { name: 'Flashing failed' })).toBeVisible({ timeout: 60_000 });
    });
  }

  // ── Step 1: image ──
  async selectImage(imagePath: string): Promise<void> {
    await this.step(`select image ${path.basename(imagePath)}`, async () => {
      if (this.answerNativeDialog) {
        await this.answerNativeDialog(imagePath);
        await this.page.getByRole('button', { name: 'Select image', exact: true }).click();
      } else {
        await this.page.getByRole('button', { name: 'Select image', exact: true }).click();
        const dialog = this.page.getByRole('dialog', { name: 'Choose an image on this computer' });
        await expect(dialog).toBeVisible();
        // The folder's listing pre-fills the path; typed over while it arrives, the caret may jump
        // to the end of the pre-filled folder and the path land after it ("/root//dev/shm/…").
        await expect(dialog.getByRole('list', { name: /^Contents of / })).toBeVisible();
        await dialog.getByRole('textbox', { name: 'Path' }).fill(imagePath);
        await dialog.getByRole('button', { name: 'Open', exact: true }).click();
        await expect(dialog).toBeHidden();
      }
      await expect(this.page.getByTestId('image-summary')).toContainText(path.basename(imagePath));
    });
  }

  /** "Use a URL": types the address into the dialog and waits for the host to accept it. */
  async useUrl(url: string, expectedName: string): Promise<void> {
    await this.step(`use the image at ${expectedName}'s URL`, async () => {
      await this.page.getByRole('button', { name: 'Use a URL', exact: true }).click();
      const dialog = this.urlDialog;
      await expect(dialog).toBeVisible();
      await dialog.getByRole('textbox', { name: 'Image URL' }).fill(url);
      await dialog.getByRole('button', { name: 'Use this image', exact: true }).click();
      await expect(dialog).toBeHidden();
      await expect(this.page.getByTestId('image-summary')).toContainText(expectedName);
    });
  }

  get urlDialog(): Locator {
    return this.page.getByRole('dialog', { name: 'Use an image from the web' });
  }

  get catalogDialog(): Locator {
    return this.page.getByRole('dialog', { name: 'Choose from a catalog' });
  }

  /** "Choose from a catalog" (opened unless it is), then "Use another catalog": the catalog at `address` is read. */
  async openCatalog(address: string): Promise<void> {
    const dialog = this.catalogDialog;
    if (!(await dialog.isVisible())) await this.page.getByRole('button', { name: 'Choose from a catalog' }).click();
    await dialog.getByRole('button', { name: 'Use another catalog' }).click();
    await dialog.getByRole('textbox', { name: /Catalog address/ }).fill(address);
    await dialog.getByRole('button', { name: 'Open catalog' }).click();
  }

  /** Picks one image of a zip that holds several. */
  async chooseArchiveEntry(entry: string): Promise<void> {
    await this.step(`choose ${entry} in the archive`, async () => {
      const select = this.page.getByRole('combobox', { name: 'Image in the archive' });
      await expect(select).toBeVisible();
      await select.selectOption(entry);
      await expect(select).toHaveValue(entry);
      await expect(this.page.getByText('Choose which image in the archive to write.')).toBeHidden();
    });
  }

  /** Opens "Check against a SHA-256" and pastes `hex` as the expected checksum. */
  async pasteChecksum(hex: string): Promise<void> {
    await this.step('paste the expected SHA-256', async () => {
      const field = this.page.getByRole('textbox', { name: 'Expected SHA-256' });
      // Folded away until opened; once open (emptied included) it stays open, and a click would fold it.
      if (!(await field.isVisible())) await this.page.getByText('Check against a SHA-256').click();
      await field.fill(hex);
    });
  }

  // ── Step 2: target ──
  get targetDialog(): Locator {
    return this.page.getByRole('dialog', { name: 'Select target' });
  }

  driveCheckbox(devicePath: string): Locator {
    return this.targetDialog.getByRole('checkbox', { name: devicePattern(devicePath) });
  }

  driveRow(devicePath: string): Locator {
    return this.targetDialog.locator(`li[data-drive-path="${devicePath}"]`);
  }

  /** A drive's capacity-check button, whatever it says ("Check for fake capacity", "Checking… 40%", "Check again"). */
  checkButton(devicePath: string): Locator {
    const escaped = devicePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return this.driveRow(devicePath).getByRole('button', { name: new RegExp(`^(Check for fake capacity|Check again|Checking…[^(]*) \\(${escaped}\\)$`) });
  }

  /** A drive's "Back up to a file…" button. */
  backupButton(devicePath: string): Locator {
    return this.driveRow(devicePath).getByRole('button', { name: `Back up to a file… (${devicePath})`, exact: true });
  }

  async openTargets(): Promise<void> {
    await this.step('open the target list', async () => {
      await this.page.getByRole('button', { name: 'Select target', exact: true }).click();
      await expect(this.targetDialog).toBeVisible();
    });
  }

  async closeTargets(): Promise<void> {
    await this.targetDialog.getByRole('button', { name: 'Done' }).click();
    await expect(this.targetDialog).toBeHidden();
  }

  async waitForDrive(devicePath: string): Promise<void> {
    await this.step(`see ${devicePath} in the list`, async () => {
      await expect(this.driveCheckbox(devicePath)).toBeVisible();
    });
  }

  /** The scanner's id for the drive now at `devicePath` (a new attachment gets a new id). */
  async driveIdOf(devicePath: string): Promise<string> {
    const id = await this.driveRow(devicePath).getAttribute('data-drive-id');
    if (!id) throw new Error(`no drive row for ${devicePath}`);
    return id;
  }

  /** Waits until the drive with `id` is gone; its path may already belong to a newer device. */
  async waitForDriveGone(devicePath: string, id: string): Promise<void> {
    await this.step(`see ${devicePath} leave the list`, async () => {
      await expect(this.targetDialog.locator(`li[data-drive-id="${id}"]`)).toHaveCount(0);
    });
  }

  async selectDrive(devicePath: string): Promise<void> {
    await this.selectDrives([devicePath]);
  }

  async selectDrives(devicePaths: string[]): Promise<void> {
    await this.openTargets();
    for (const devicePath of devicePaths) await this.waitForDrive(devicePath);
    await this.step(`select ${devicePaths.join(' and ')}`, async () => {
      for (const devicePath of devicePaths) await this.driveCheckbox(devicePath).check();
      await this.closeTargets();
      for (const devicePath of devicePaths) await expect(this.page.getByTestId('target-summary')).toContainText(devicePath);
    });
  }

  // ── Step 3: flash ──
  async flash(): Promise<void> {
    await this.step('flash', async () => {
      await this.recordProgress();
      await this.page.getByRole('button', { name: 'Flash!', exact: true }).click();
      await expect(this.page.getByTestId('flash-progress').or(this.page.getByTestId('flash-success'))).toBeVisible();
    });
  }

  /** Percent shown in the progress view (0 when it is not showing). */
  async shownPercent(): Promise<number> {
    const text = await this.page.getByTestId('flash-percent').textContent({ timeout: 1000 }).catch(() => null);
    return text ? Number.parseInt(text, 10) : 0;
  }

  async waitForProgress(percent: number, phase = 'writing'): Promise<void> {
    await this.step(`see ${phase} reach ${percent}%`, async () => {
      await expect(this.page.getByTestId('flash-progress')).toHaveAttribute('data-phase', phase);
      await expect.poll(() => this.shownPercent(), { timeout: 60_000 }).toBeGreaterThanOrEqual(percent);
    });
  }

  async waitForSuccess(): Promise<void> {
    await this.step('see the success view', async () => {
      await expect(this.page.getByRole('heading', { name: 'Flash complete!' })).toBeVisible({ timeout: 90_000 });
    });
  }

  async cancel(): Promise<void> {
    await this.step('ask to cancel', async () => {
      await this.page.getByRole('button', { name: 'Cancel', exact: true }).click();
      await expect(this.page.getByRole('dialog', { name: 'Cancel flashing?' })).toBeVisible();
    });
    await this.step('confirm cancelling', async () => {
      await this.page.getByRole('button', { name: 'Cancel flashing', exact: true }).click();
    });
  }

  async waitForCancelled(): Promise<void> {
    await this.step('see the cancelled view', async () => {
      await expect(this.page.getByRole('heading', { name: 'Flashing cancelled' })).toBeVisible({ timeout: 60_000 });
    });
  }

  // Progress as the page showed it, sampled on every DOM change (fast flashes finish between polls).
  private async recordProgress(): Promise<void> {
    await this.page.evaluate(PROGRESS_RECORDER);
  }

  async progressSeen(): Promise<ProgressSample[]> {
    return (await this.page.evaluate('window.__progressSeen ?? []')) as ProgressSample[];
  }
}
