// One flash from the renderer's side: start it, follow its events, cancel it, and end in exactly
// one of success, failure or cancelled. Events carry the job id; events that arrive before the
// flash.start answer (the host may be quick) are adopted while we are starting.

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ActiveJob, BlockwiseApi, ImageInfo } from '../../shared/contract';
import type { DriveInfo } from '../../shared/drive-types';
import type { SerializedError } from '../../shared/errors';
import type { FlashProgress, FlashResult } from '../../shared/flash-types';
import { toSerializedError } from '../request-failed';

export type FlashStatus = 'idle' | 'starting' | 'flashing' | 'cancelling' | 'done' | 'failed' | 'cancelled';

export interface FlashState {
  status: FlashStatus;
  jobId: string | null;
  progress: FlashProgress | null;
  result: FlashResult | null;
  error: SerializedError | null;
  /** The cancel confirmation is showing. */
  confirmingCancel: boolean;
  /** What was flashed, kept for the result view even if the drives go away. */
  image: ImageInfo | null;
  targets: DriveInfo[];
  /** System drives awaiting the user's explicit yes before the flash starts. */
  confirmingSystem: DriveInfo[];
  startFlash(): Promise<void>;
  confirmSystem(): Promise<void>;
  dismissSystem(): void;
  requestCancel(): void;
  dismissCancel(): void;
  confirmCancel(): Promise<void>;
  /** Back to the three steps after a result. */
  reset(): void;
  onProgress(event: { jobId: string; progress: FlashProgress }): void;
  onDone(event: { jobId: string; result: FlashResult }): void;
  onError(event: { jobId: string; error: SerializedError }): void;
  /**
   * What the host's flash.jobs says on each (re)connection: our job's outcome if it ended while
   * the connection was down; or, with nothing of our own under way, a flash that is running (the
   * tab was reloaded mid-flash, or another tab started it) is followed as if started here.
   * `followed`: the job this tab showed before it was reloaded; shown again even if it has ended.
   */
  rejoin(jobs: ActiveJob[], followed?: string): void;
}

export interface FlashInputs {
  image(): ImageInfo | null;
  targets(): DriveInfo[];
  /** Chosen drives that may only be written after an explicit yes (system drives). */
  needingConfirm(): DriveInfo[];
  /** The SHA-256 the person expects; undefined when none. */
  checksum(): string | undefined;
  /** Something must be fixed in the image step first (an unchosen zip entry, a malformed hash). */
  blocked(): boolean;
}

export function isBusy(status: FlashStatus): boolean {
  return status === 'starting' || status === 'flashing' || status === 'cancelling';
}

export function createFlashStore(api: BlockwiseApi, inputs: FlashInputs): StoreApi<FlashState> {
  return createStore<FlashState>()((set, get) => {
    // Events that arrive while flash.start is unanswered (the host may be quick) cannot be told
    // apart yet: another tab's flash sends events too, and taking the first one seen for ours showed
    // that flash, under our image's name, while ours went unseen. They wait for the answer, and
    // only our job's are replayed.
    let early: { jobId: string; replay(): void }[] = [];

    /** Is this event about our job? While the start answer is in flight, keeps it for later. */
    const ours = (jobId: string, replay: () => void): boolean => {
      const state = get();
      if (state.jobId === jobId) return isBusy(state.status);
      if (state.jobId === null && state.status === 'starting') early.push({ jobId, replay });
      return false;
    };

    /** Our job as the host lists it (flash.jobs): its outcome if it has ended, else its latest progress. */
    const catchUp = (job: ActiveJob): void => {
      if (job.outcome && 'result' in job.outcome) get().onDone({ jobId: job.jobId, result: job.outcome.result });
      else if (job.outcome) get().onError({ jobId: job.jobId, error: job.outcome.error });
      else if (job.progress) get().onProgress({ jobId: job.jobId, progress: job.progress });
    };

    const start = async (systemConfirmed: boolean): Promise<void> => {
      const image = inputs.image();
      const targets = inputs.targets();
      if (!image || targets.length === 0 || inputs.blocked() || isBusy(get().status)) return;
      const risky = inputs.needingConfirm();
      if (risky.length > 0 && !systemConfirmed) {
        set({ confirmingSystem: risky });
        return;
      }
      early = [];
      set({ status: 'starting', jobId: null, progress: null, result: null, error: null, confirmingCancel: false, confirmingSystem: [], image, targets });
      try {
        const checksum = inputs.checksum();
        const { jobId } = await api.request('flash.start', {
          ...(image.url !== undefined ? { url: image.url } : { imagePath: image.path ?? '' }),
          ...(chosenEntry(image) ? { entry: chosenEntry(image) } : {}),
          ...(checksum ? { checksum } : {}),
          driveIds: targets.map((drive) => drive.id),
          ...(risky.length > 0 ? { confirmSystem: true } : {}),
        });
        const state = get();
        if (state.status === 'starting') set({ status: 'flashing', jobId });
        else if (state.jobId === null) set({ jobId });
        const kept = early.filter((event) => event.jobId === jobId);
        early = [];
        for (const event of kept) event.replay();
      } catch (error) {
        early = [];
        if (get().status !== 'starting') return;
        const refused = toSerializedError(error);
        // Busy with a flash started elsewhere (another tab or window): say which, so it can be followed.
        const other = refused.code === 'TARGET_BUSY' ? await flashWriting(targets) : undefined;
        if (get().status === 'starting') set({ status: 'failed', error: other ? { ...refused, details: { ...refused.details, otherJob: other } } : refused });
      }
    };

    /** The id of a running flash that writes one of `targets`, if the host lists one. */
    const flashWriting = async (targets: DriveInfo[]): Promise<string | undefined> => {
      try {
        const jobs = await api.request('flash.jobs', {});
        return jobs.find((job) => !job.outcome && job.drives.some((d) => targets.some((t) => t.id === d.id || t.path === d.path)))?.jobId;
      } catch {
        return undefined; // the refusal's own words still say what happened
      }
    };

    return {
      status: 'idle',
      jobId: null,
      progress: null,
      result: null,
      error: null,
      confirmingCancel: false,
      image: null,
      targets: [],
      confirmingSystem: [],

      async startFlash() {
        await start(false);
      },

      async confirmSystem() {
        set({ confirmingSystem: [] });
        await start(true);
      },

      dismissSystem() {
        set({ confirmingSystem: [] });
      },

      requestCancel() {
        if (isBusy(get().status)) set({ confirmingCancel: true });
      },

      dismissCancel() {
        set({ confirmingCancel: false });
      },

      async confirmCancel() {
        const { jobId, status } = get();
        set({ confirmingCancel: false });
        if (!jobId || !isBusy(status)) return;
        set({ status: 'cancelling' });
        try {
          await api.request('flash.cancel', { jobId });
        } catch (error) {
          // The job may have just finished; its own done/error event decides the outcome.
          if (get().status === 'cancelling') set({ status: 'failed', error: toSerializedError(error) });
        }
      },

      reset() {
        if (isBusy(get().status)) return;
        set({ status: 'idle', jobId: null, progress: null, result: null, error: null, confirmingCancel: false });
      },

      onProgress(event) {
        const { jobId, progress } = event;
        if (!ours(jobId, () => get().onProgress(event))) return;
        const status = get().status;
        set({ progress, status: status === 'starting' ? 'flashing' : status });
      },

      onDone(event) {
        const { jobId, result } = event;
        if (!ours(jobId, () => get().onDone(event))) return;
        const failed = result.targets.filter((t) => !t.ok);
        const firstError = failed[0]?.error;
        if (result.targets.length > 0 && failed.length === result.targets.length) {
          const error = firstError ?? { code: 'INTERNAL' as const, message: 'No drive was written.' };
          set({ status: error.code === 'CANCELLED' ? 'cancelled' : 'failed', result, error, confirmingCancel: false });
        } else {
          set({ status: 'done', result, confirmingCancel: false });
        }
      },

      onError(event) {
        const { jobId, error } = event;
        if (!ours(jobId, () => get().onError(event))) return;
        set({ status: error.code === 'CANCELLED' ? 'cancelled' : 'failed', error, confirmingCancel: false });
      },

      rejoin(jobs, followed) {
        const state = get();
        if (state.status === 'starting') return; // its own answer and events decide
        if (isBusy(state.status) && state.jobId !== null) {
          const job = jobs.find((j) => j.jobId === state.jobId);
          // The host no longer knows the job: it was restarted, which stopped the flash.
          if (!job) get().onError({ jobId: state.jobId, error: lostJob(state.targets) });
          else catchUp(job);
          return;
        }
        if (state.status !== 'idle') return; // a result is on screen: it stays until dismissed
        const running = jobs.find((j) => j.jobId === followed) ?? jobs.find((j) => !j.outcome);
        if (!running) return;
        const image: ImageInfo = {
          name: running.imageName,
          ...(running.download ? { url: running.imagePath } : { path: running.imagePath }),
          storedSize: 0,
          formats: [],
        };
        set({
          status: running.cancelling ? 'cancelling' : 'flashing',
          jobId: running.jobId,
          progress: running.progress ?? null,
          result: null,
          error: null,
          confirmingCancel: false,
          confirmingSystem: [],
          image,
          targets: running.drives,
        });
        catchUp(running); // ended while this tab reloaded: its outcome, as it would have been shown
      },
    };
  });
}

/**
 * The archive entry to ask for: only one chosen from the archive's list (by the person, or by the
 * flash this tab joined). The host's inspection also names the image it met first in an archive
 * whose list it could not read ahead (a tar inside .xz or .gz), with no list; sent back, that
 * guess would write it and skip the check that the stream holds no second image.
 */
export function chosenEntry(image: ImageInfo): string | undefined {
  return image.entry !== undefined && image.entries?.includes(image.entry) ? image.entry : undefined;
}

/** A job the host has forgotten while we followed it: the host restarted, and the flash with it. */
function lostJob(targets: DriveInfo[]): SerializedError {
  const drives = targets.map((d) => d.path).join(', ') || 'the drive';
  return {
    code: 'CANCELLED',
    message: `Blockwise was restarted while it was writing ${drives}, which stopped the flash: ${targets.length > 1 ? 'they are' : 'it is'} incomplete.`,
    details: { driveIncomplete: true },
  };
}
