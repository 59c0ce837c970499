// Closing the window while a flash runs asks first: quitting cancels the flash and leaves the drive
// incomplete. The window closes at once when nothing runs, or once the person chooses to cancel.

import type { ActiveJob } from '../../shared/contract';

export interface MessageBoxOptions {
  type: 'warning';
  title: string;
  message: string;
  detail: string;
  buttons: string[];
  defaultId: number;
  cancelId: number;
  noLink: boolean;
}

/** The part of Electron's dialog module used here. */
export interface MessageBoxLike {
  showMessageBox(window: unknown, options: MessageBoxOptions): Promise<{ response: number }>;
}

export interface ClosableWindow {
  on(event: 'close', listener: (event: { preventDefault(): void }) => void): unknown;
  close(): void;
}

/** The button that closes anyway. */
export const CLOSE_ANYWAY = 1;

export function closeQuestion(jobs: ActiveJob[]): MessageBoxOptions {
  const drives = [...new Set(jobs.flatMap((job) => job.drives.map((drive) => drive.path)))];
  const named = drives.length === 1 ? drives[0]! : `${drives.slice(0, -1).join(', ')} and ${drives[drives.length - 1]!}`;
  const them = drives.length === 1 ? 'it' : 'them';
  return {
    type: 'warning',
    title: 'Blockwise is still flashing',
    message: `Blockwise is still writing ${named}.`,
    detail: `Closing now cancels the flash and leaves ${drives.length === 1 ? 'the drive' : 'the drives'} incomplete: ${them === 'it' ? 'it' : 'they'} will not boot until flashed again.`,
    buttons: ['Keep flashing', 'Cancel the flash and close'],
    defaultId: 0,
    cancelId: 0,
    noLink: true,
  };
}

/** Asks before `window` closes while `running()` lists a job that has not ended. */
export function guardClose(window: ClosableWindow, dialog: MessageBoxLike, running: () => ActiveJob[]): void {
  let confirmed = false;
  let asking = false;
  window.on('close', (event) => {
    if (confirmed) return;
    const jobs = running().filter((job) => !job.outcome);
    if (jobs.length === 0) return;
    event.preventDefault();
    if (asking) return; // the question is already showing
    asking = true;
    dialog.showMessageBox(window, closeQuestion(jobs)).then(
      ({ response }) => {
        asking = false;
        if (response !== CLOSE_ANYWAY) return;
        confirmed = true;
        window.close(); // the shell's close cancels the jobs and waits for the engines
      },
      () => {
        asking = false;
      },
    );
  });
}
