// Flash jobs for every host: checks the request against the latest scan and the drive rules,
// runs the engine in its own worker thread per job (a crash takes down one job, not the host) —
// or, when this process may not open the drives, in an elevated helper (engine-launcher.ts) —
// and publishes flash.progress / flash.done / flash.error on the event bus.

import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { ActiveJob, FlashStartArgs, Settings } from '../../shared/contract';
import type { DriveInfo } from '../../shared/drive-types';
import { BlockwiseError, serializeError } from '../../shared/errors';
import type { FlashJob, FlashProgress, FlashResult } from '../../shared/flash-types';
import { identityOf } from '../drives/identity';
import { EngineClient, workerTransport, type RunningJob } from '../engine/engine-client';
import { engineLauncher } from './engine-launcher';
import type { DriveService } from './drive-service';
import type { EventBus } from './event-bus';
import { pastedChecksum, resolveSource } from './flash-source';
import { defaultConfigDir } from './settings-store';
import { readSystemMounts, targetRefusal } from './target-check';

const defaultDownloadsDir = () => path.join(defaultConfigDir(), 'downloads');

/** The part of EngineClient a job needs; tests may pass the real one or a stand-in. */
export interface FlashEngine {
  flash(job: FlashJob, onProgress: (progress: FlashProgress) => void): RunningJob<FlashResult>;
  close(): Promise<void>;
}

/** Gets the job's device paths: whether they need an elevated helper is decided per job. */
export type EngineFactory = (devices: string[]) => FlashEngine | Promise<FlashEngine>;

export const workerEngine: EngineFactory = () => new EngineClient(workerTransport());

/** Worker thread when this process can open the drives, else the elevated helper. */
const defaultEngine: EngineFactory = engineLauncher();

export interface FlashServiceDeps {
  drives: DriveService;
  settings: { get(): Promise<Settings> };
  bus: EventBus;
  /** Image size before writing, for the "too small" rule; undefined when unknown (compressed). */
  imageSize: (imagePath: string, entry?: string) => Promise<number | undefined>;
  /** Where "Keep downloads" puts them (default: downloads/ in the config folder). */
  downloadsDir?: string;
  engine?: EngineFactory;
}

interface Job {
  info: ActiveJob;
  drives: DriveInfo[];
  running?: RunningJob<FlashResult>;
  cancelled: boolean;
}

export class FlashService {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly deps: FlashServiceDeps) {}

  async start(args: FlashStartArgs): Promise<{ jobId: string }> {
    const settings = await this.deps.settings.get();
    const drives = this.resolveDrives(args.driveIds);

    // A path or a URL, the archive entry, the pasted checksum: see flash-source.ts.
    const resolved = await resolveSource(args, settings, { imageSize: this.deps.imageSize, downloadsDir: this.deps.downloadsDir ?? defaultDownloadsDir() });
    const context = {
      imagePath: resolved.localPath,
      imageSize: resolved.imageSize,
      allDrives: this.deps.drives.all(),
      systemMounts: readSystemMounts(),
      allowSystem: settings.showAllDrives && args.confirmSystem === true,
    };
    for (const drive of drives) {
      const refusal = targetRefusal(drive, context);
      if (refusal) throw refusal;
    }
    // Checked again after the awaits above: another request may have claimed a drive meanwhile.
    this.refuseBusy(drives);

    const jobId = randomUUID();
    const job: Job = { info: { jobId, imagePath: resolved.label, driveIds: drives.map((d) => d.id) }, drives, cancelled: false };
    this.jobs.set(jobId, job);
    const flashJob: FlashJob = {
      source: resolved.source,
      // What the scanner saw goes along: the engine refuses if the device changed since.
      targets: drives.map((d) => ({ path: d.path, identity: identityOf(d) })),
      options: { verify: settings.verify, full: settings.fullWrite, eject: settings.ejectWhenDone, ...(args.checksum ? { checksum: pastedChecksum(args.checksum)! } : {}) },
    };
    void this.run(job, flashJob);
    return { jobId };
  }

  cancel(jobId: string): { cancelled: boolean } {
    const job = this.jobs.get(jobId);
    if (!job) return { cancelled: false };
    job.cancelled = true;
    job.running?.cancel();
    return { cancelled: true };
  }

  active(): ActiveJob[] {
    return [...this.jobs.values()].map((j) => ({ ...j.info }));
  }

  /** Cancels everything and waits for the engines to stop (host shutdown). */
  async shutdown(): Promise<void> {
    const pending = [...this.jobs.values()].map((j) => j.running?.result.catch(() => undefined));
    for (const id of this.jobs.keys()) this.cancel(id);
    await Promise.all(pending);
  }

  private resolveDrives(ids: string[]): DriveInfo[] {
    if (new Set(ids).size !== ids.length) throw new BlockwiseError('INVALID_REQUEST', 'The same drive was selected twice.');
    const drives = ids.map((id) => {
      const drive = this.deps.drives.get(id);
      if (!drive) {
        throw new BlockwiseError('TARGET_NOT_FOUND', `The drive ${JSON.stringify(id.slice(0, 64))} is not in the latest drive scan; it may have been unplugged.`, {
          driveId: id.slice(0, 64),
        });
      }
      return drive;
    });
    this.refuseBusy(drives);
    return drives;
  }

  private refuseBusy(drives: DriveInfo[]): void {
    for (const job of this.jobs.values()) {
      for (const drive of drives) {
        if (job.drives.some((d) => d.id === drive.id || d.path === drive.path)) {
          throw new BlockwiseError('TARGET_BUSY', `${drive.path} is already being written by another job; wait for it to finish.`, { path: drive.path });
        }
      }
    }
  }

  private async run(job: Job, flashJob: FlashJob): Promise<void> {
    const { jobId } = job.info;
    const bus = this.deps.bus;
    let engine: FlashEngine | undefined;
    try {
      engine = await (this.deps.engine ?? defaultEngine)(flashJob.targets.map((t) => t.path));
      job.running = engine.flash(flashJob, (progress) => {
        job.info.progress = progress;
        bus.emit('flash.progress', { jobId, progress });
      });
      if (job.cancelled) job.running.cancel(); // cancel arrived before the engine did
      const result = await job.running.result;
      this.jobs.delete(jobId);
      bus.emit('flash.done', { jobId, result });
    } catch (error) {
      this.jobs.delete(jobId);
      bus.emit('flash.error', { jobId, error: serializeError(error) });
    } finally {
      this.jobs.delete(jobId);
      await engine?.close().catch(() => undefined);
    }
  }
}
