// Flash jobs for every host: checks the request against the latest scan and the drive rules,
// runs the engine in its own worker thread per job (a crash takes down one job, not the host) —
// or, when this process may not open the drives, in an elevated helper (engine-launcher.ts) —
// and publishes flash.progress / flash.done / flash.error on the event bus.

import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { JOB_MEMORY_MS, type ActiveJob, type FlashStartArgs, type Settings } from '../../shared/contract';
import type { DriveInfo } from '../../shared/drive-types';
import { BlockwiseError, serializeError } from '../../shared/errors';
import type { CapacityCheckResult, FlashJob, FlashProgress, FlashResult } from '../../shared/flash-types';
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
  /** The capacity check (drives.check); an engine without one cannot check drives. */
  check?(drivePath: string, onProgress: (progress: FlashProgress) => void): RunningJob<CapacityCheckResult>;
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

/** How many ended jobs flash.jobs keeps listing (each for JOB_MEMORY_MS at most). */
const ENDED_KEPT = 8;

/** The name a person knows the image by: the file's, or the last part of the address. */
function imageNameOf(label: string, download: boolean): string {
  if (!download) return path.basename(label);
  try {
    const last = new URL(label).pathname.split('/').filter(Boolean).pop();
    return last ? decodeURIComponent(last) : label;
  } catch {
    return label;
  }
}

export class FlashService {
  private readonly jobs = new Map<string, Job>();
  /** Jobs that ended, newest last, with when they did. */
  private ended: { info: ActiveJob; at: number }[] = [];
  /** What capacity checks found drives to really store, by id, for those storing less than they claim. */
  private readonly realCapacity: Record<string, number> = {};
  /** Drives being checked for fake capacity (drives.check), by id, and when each check ends. */
  private readonly checks = new Map<string, { drive: DriveInfo; done: Promise<unknown>; cancel(): void }>();

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
      realCapacity: this.realCapacity,
    };
    for (const drive of drives) {
      const refusal = targetRefusal(drive, context);
      if (refusal) throw refusal;
    }
    // Checked again after the awaits above: another request may have claimed a drive meanwhile.
    this.refuseBusy(drives);

    const jobId = randomUUID();
    const download = args.url !== undefined;
    const info: ActiveJob = {
      jobId,
      imagePath: resolved.label,
      imageName: imageNameOf(resolved.label, download),
      download,
      ...(args.entry !== undefined ? { entry: args.entry } : {}),
      driveIds: drives.map((d) => d.id),
      drives,
      cancelling: false,
    };
    const job: Job = { info, drives, cancelled: false };
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

  /**
   * drives.check: one drive that no job is writing or checking; never a system or read-only drive
   * (the check writes, if only for a moment). The engine runs as for a flash: a worker thread, or
   * the elevated helper started for this drive alone.
   */
  async check(driveId: string): Promise<CapacityCheckResult> {
    const [drive] = this.resolveDrives([driveId]);
    if (drive!.system) {
      throw new BlockwiseError('SYSTEM_DRIVE', `${drive!.path} is a system drive: Blockwise does not write to it, not even to check it.`, { path: drive!.path });
    }
    if (drive!.readOnly) throw new BlockwiseError('TARGET_READ_ONLY', `${drive!.path} is read-only (write-protected), so it cannot be checked.`, { path: drive!.path });
    // A cancel asked for while the engine is still starting (the elevated helper's password
    // prompt, say) is passed on as soon as the check is running.
    let cancelled = false;
    let running: RunningJob<CapacityCheckResult> | undefined;
    const cancel = () => {
      cancelled = true;
      running?.cancel();
    };
    const run = async () => {
      let engine: FlashEngine | undefined;
      try {
        engine = await (this.deps.engine ?? defaultEngine)([drive!.path]);
        if (!engine.check) throw new BlockwiseError('INTERNAL', 'This host’s engine cannot check drives.');
        if (cancelled) throw new BlockwiseError('CANCELLED', `The check of ${drive!.path} was cancelled before it began: nothing was written to it.`, { path: drive!.path, driveIncomplete: false });
        // Every tab hears how far it is (at most every 1 %: the engine counts test-block I/Os).
        // A silent drive's seconds go out as they grow, and once more when it answers again.
        let shown = -1;
        let silentShown: number | undefined;
        running = engine.check(drive!.path, (progress) => {
          const percent = Math.floor(progress.percent ?? 0);
          const stalledSeconds = progress.targets[0]?.stalledSeconds;
          if (percent === shown && stalledSeconds === silentShown) return;
          shown = percent;
          silentShown = stalledSeconds;
          this.deps.bus.emit('drives.checkProgress', { driveId: drive!.id, percent, ...(stalledSeconds === undefined ? {} : { stalledSeconds }) });
        });
        return await running.result;
      } finally {
        await engine?.close().catch(() => undefined);
      }
    };
    const done = run();
    this.checks.set(drive!.id, { drive: drive!, done: done.catch(() => undefined), cancel });
    try {
      const result = await done;
      // Remembered for this drive (a new attachment gets a new id): no flash may then write it an
      // image larger than it really stores.
      if (result.verdict === 'genuine') delete this.realCapacity[drive!.id];
      else this.realCapacity[drive!.id] = result.keeps;
      return result;
    } finally {
      this.checks.delete(drive!.id);
    }
  }

  /** drives.checkCancel: the drive's data is put back before its drives.check rejects (CANCELLED). */
  cancelCheck(driveId: string): { cancelled: boolean } {
    const check = this.checks.get(driveId);
    if (!check) return { cancelled: false };
    check.cancel();
    return { cancelled: true };
  }

  cancel(jobId: string): { cancelled: boolean } {
    const job = this.jobs.get(jobId);
    if (!job) return { cancelled: false };
    job.cancelled = true;
    job.info.cancelling = true;
    job.running?.cancel();
    return { cancelled: true };
  }

  /** The jobs still running. */
  active(): ActiveJob[] {
    return [...this.jobs.values()].map((j) => ({ ...j.info }));
  }

  /** The jobs running, then those that ended in the last JOB_MEMORY_MS (flash.jobs). */
  listed(now = Date.now()): ActiveJob[] {
    this.ended = this.ended.filter((e) => now - e.at < JOB_MEMORY_MS);
    return [...this.active(), ...this.ended.map((e) => ({ ...e.info }))];
  }

  private remember(job: Job, outcome: NonNullable<ActiveJob['outcome']>): void {
    this.jobs.delete(job.info.jobId);
    this.ended.push({ info: { ...job.info, cancelling: false, outcome }, at: Date.now() });
    if (this.ended.length > ENDED_KEPT) this.ended.splice(0, this.ended.length - ENDED_KEPT);
  }

  /** Cancels everything and waits for the engines to stop (host shutdown). */
  async shutdown(): Promise<void> {
    const pending = [...this.jobs.values()].map((j) => j.running?.result.catch(() => undefined));
    for (const id of this.jobs.keys()) this.cancel(id);
    // A check puts the drive's own data back as it ends: it is let finish (a second or two).
    await Promise.all([...pending, ...[...this.checks.values()].map((c) => c.done)]);
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
    for (const check of this.checks.values()) {
      for (const drive of drives) {
        if (check.drive.id === drive.id || check.drive.path === drive.path) {
          throw new BlockwiseError('TARGET_BUSY', `${drive.path} is being checked for fake capacity.`, { path: drive.path, busyWith: 'check' });
        }
      }
    }
    for (const job of this.jobs.values()) {
      for (const drive of drives) {
        if (job.drives.some((d) => d.id === drive.id || d.path === drive.path)) {
          throw new BlockwiseError('TARGET_BUSY', `${drive.path} is already being written by another flash.`, { path: drive.path, busyWith: 'flash' });
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
      // Listed as ended before anyone hears of it, so a renderer that asks flash.jobs meanwhile
      // never finds it neither running nor ended.
      this.remember(job, { result });
      bus.emit('flash.done', { jobId, result });
    } catch (error) {
      const serialized = serializeError(error);
      this.remember(job, { error: serialized });
      bus.emit('flash.error', { jobId, error: serialized });
    } finally {
      this.jobs.delete(jobId);
      await engine?.close().catch(() => undefined);
    }
  }
}
