// Flash jobs for every host: checks the request against the latest scan and the drive rules,
// runs the engine in its own worker thread per job (a crash takes down one job, not the host) —
// or, when this process may not open the drives, in an elevated helper (engine-launcher.ts) —
// and publishes flash.progress / flash.done / flash.error on the event bus.

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants, existsSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JOB_MEMORY_MS, type ActiveJob, type FlashStartArgs, type Settings } from '../../shared/contract';
import type { DriveInfo } from '../../shared/drive-types';
import { BlockwiseError, serializeError } from '../../shared/errors';
import type { BackupJob, BackupResult, CapacityCheckResult, FlashJob, FlashProgress, FlashResult } from '../../shared/flash-types';
import { identityOf } from '../drives/identity';
import { EngineClient, workerTransport, type RunningJob } from '../engine/engine-client';
import { needsElevation } from '../helper/elevation';
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
  /** A backup to a file (drives.backup). */
  backup?(job: BackupJob, onProgress: (progress: FlashProgress) => void): RunningJob<BackupResult>;
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
  /** Does this process lack the right to read `device`? (drives.backup; tests pass a fake.) */
  needsElevation?: (device: string) => Promise<boolean>;
  /** The engine a backup runs in: a worker thread here (tests may pass another; never the helper). */
  backupEngine?: EngineFactory;
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

/** The home folder of who started Blockwise: under sudo (or pkexec) theirs, not root's. */
function invokingHome(): string {
  const uid = process.getuid?.() === 0 ? (process.env.SUDO_UID ?? process.env.PKEXEC_UID) : undefined;
  if (uid && /^[1-9]\d*$/.test(uid)) {
    try {
      const home = execFileSync('getent', ['passwd', uid], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[5];
      if (home && existsSync(home)) return home;
    } catch {
      // no passwd entry: root's own home
    }
  }
  return os.homedir();
}

/** A drive id the latest scan does not hold. */
function notInScan(id: string): BlockwiseError {
  return new BlockwiseError('TARGET_NOT_FOUND', `The drive ${JSON.stringify(id.slice(0, 64))} is not in the latest drive scan; it may have been unplugged.`, {
    driveId: id.slice(0, 64),
  });
}

export class FlashService {
  private readonly jobs = new Map<string, Job>();
  /** Jobs that ended, newest last, with when they did. */
  private ended: { info: ActiveJob; at: number }[] = [];
  /** What capacity checks found drives to really store, by id, for those storing less than they claim. */
  private readonly realCapacity: Record<string, number> = {};
  /** Drives being checked for fake capacity (drives.check) or backed up (drives.backup), by id. */
  private readonly driveTasks = new Map<string, { kind: 'check' | 'backup'; drive: DriveInfo; done: Promise<unknown>; cancel(): void }>();

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
    const done = this.driveTask(
      'check',
      drive!,
      this.deps.engine ?? defaultEngine,
      (engine) => {
        if (!engine.check) throw new BlockwiseError('INTERNAL', 'This host’s engine cannot check drives.');
        // Every tab hears how far it is (at most every 1 %: the engine counts test-block I/Os).
        // A silent drive's seconds go out as they grow, and once more when it answers again.
        let shown = -1;
        let silentShown: number | undefined;
        return engine.check(drive!.path, (progress) => {
          const percent = Math.floor(progress.percent ?? 0);
          const stalledSeconds = progress.targets[0]?.stalledSeconds;
          if (percent === shown && stalledSeconds === silentShown) return;
          shown = percent;
          silentShown = stalledSeconds;
          this.deps.bus.emit('drives.checkProgress', { driveId: drive!.id, percent, ...(stalledSeconds === undefined ? {} : { stalledSeconds }) });
        });
      },
      () => new BlockwiseError('CANCELLED', `The check of ${drive!.path} was cancelled before it began: nothing was written to it.`, { path: drive!.path, driveIncomplete: false }),
    );
    const result = await done;
    // Remembered for this drive (a new attachment gets a new id): no flash may then write it an
    // image larger than it really stores.
    if (result.verdict === 'genuine') delete this.realCapacity[drive!.id];
    else this.realCapacity[drive!.id] = result.keeps;
    return result;
  }

  /**
   * Runs a check or a backup of one drive in an engine of its own, the drive busy meanwhile. A
   * cancel asked for while the engine is still starting (the elevated helper's password prompt,
   * say) ends it with `notStarted` as soon as the engine is there.
   */
  private async driveTask<T>(
    kind: 'check' | 'backup',
    drive: DriveInfo,
    factory: EngineFactory,
    start: (engine: FlashEngine) => RunningJob<T>,
    notStarted: () => BlockwiseError,
  ): Promise<T> {
    let cancelled = false;
    let running: RunningJob<T> | undefined;
    const run = async () => {
      let engine: FlashEngine | undefined;
      try {
        engine = await factory([drive.path]);
        if (cancelled) throw notStarted();
        running = start(engine);
        return await running.result;
      } finally {
        await engine?.close().catch(() => undefined);
      }
    };
    const done = run();
    const cancel = () => {
      cancelled = true;
      running?.cancel();
    };
    this.driveTasks.set(drive.id, { kind, drive, done: done.catch(() => undefined), cancel });
    this.emitDriveTasks();
    try {
      return await done;
    } finally {
      this.driveTasks.delete(drive.id);
      this.emitDriveTasks();
    }
  }

  /** drives.tasks: every tab shows the drives busy, not only the one that started the task. */
  private emitDriveTasks(): void {
    this.deps.bus.emit('drives.tasks', { running: [...this.driveTasks].map(([driveId, task]) => ({ driveId, kind: task.kind })) });
  }

  /** drives.checkCancel: the drive's data is put back before its drives.check rejects (CANCELLED). */
  cancelCheck(driveId: string): { cancelled: boolean } {
    return this.cancelDriveTask(driveId, 'check');
  }

  /** drives.backupCancel: the unfinished file is removed before its drives.backup rejects (CANCELLED). */
  cancelBackup(driveId: string): { cancelled: boolean } {
    return this.cancelDriveTask(driveId, 'backup');
  }

  private cancelDriveTask(driveId: string, kind: 'check' | 'backup'): { cancelled: boolean } {
    const task = this.driveTasks.get(driveId);
    if (task?.kind !== kind) return { cancelled: false };
    task.cancel();
    return { cancelled: true };
  }

  /**
   * drives.backupName: a file the backup of this drive could go to, that does not exist yet:
   * NAME-YYYY-MM-DD.img.zst in the Downloads folder (else the home folder), NAME its model.
   */
  backupName(driveId: string, now = new Date()): { file: string } {
    const drive = this.deps.drives.get(driveId);
    if (!drive) throw notInScan(driveId);
    const home = invokingHome();
    const downloads = path.join(home, 'Downloads');
    const folder = existsSync(downloads) ? downloads : home;
    const model = (drive.model || path.basename(drive.path)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'drive';
    const day = now.toISOString().slice(0, 10);
    for (let n = 1; ; n++) {
      const file = path.join(folder, `${model}-${day}${n > 1 ? `-${n}` : ''}.img.zst`);
      if (!existsSync(file) && !existsSync(`${file}.partial`)) return { file };
    }
  }

  /**
   * drives.backup: copies a drive that no job is writing, checking or copying into `file` (the
   * engine's backup.ts: read exclusively, saved as FILE.partial, renamed once decompressed again to
   * the same SHA-256). Only in this process (a worker thread): through the elevated helper the file
   * would be written as root, at a path the page chose. A drive this process may not read is
   * refused, saying how to get that right.
   */
  async backup(driveId: string, given: string): Promise<BackupResult> {
    const [drive] = this.resolveDrives([driveId]);
    // ~/… as a shell would read it: the home of who started Blockwise.
    const file = given === '~' || given.startsWith('~/') ? path.join(invokingHome(), given.slice(1)) : given;
    if (!path.isAbsolute(file)) {
      throw new BlockwiseError('TARGET_NOT_ALLOWED', `${file}: give the whole path of the file to save the backup to, starting with ${path.sep} (or ~${path.sep} for your home folder).`, { path: file });
    }
    // A folder given (~, /media/usb/): its last part was taken for the file's name and refused as
    // no .img, which read as nonsense ("root: name the backup NAME.img…").
    if (given.endsWith(path.sep) || given === '~' || isFolder(file)) {
      const example = path.join(file, `${this.backupName(driveId).file.split(path.sep).pop()}`);
      throw new BlockwiseError('TARGET_NOT_ALLOWED', `${file} is a folder: give the backup file’s name in it too, e.g. ${example}.`, { path: file });
    }
    // The engine saves FILE.partial first: a name the filesystem takes may be too long with that
    // (ENAMETOOLONG, said in Node's words). Linux's filesystems allow 255 bytes in a name.
    const nameBytes = Buffer.byteLength(path.basename(file)) + '.partial'.length;
    if (nameBytes > 255) {
      throw new BlockwiseError(
        'TARGET_NOT_ALLOWED',
        `The backup’s file name is too long: ${Buffer.byteLength(path.basename(file))} bytes, and a name may hold 255 (Blockwise also needs room for “.partial” while it saves). Give it a shorter name.`,
        { path: file },
      );
    }
    const mayNotRead = this.deps.needsElevation ?? ((device: string) => needsElevation(device, constants.O_RDONLY));
    if (await mayNotRead(drive!.path)) {
      throw new BlockwiseError(
        'PERMISSION_DENIED',
        `Blockwise may not read ${drive!.path} without administrator rights, and a backup is never made through its administrator helper (the file would belong to the administrator). Run Blockwise as administrator (sudo), or add yourself to the disk group, to back it up; or use “sudo blockwise backup ${drive!.path} --to FILE”.`,
        { path: drive!.path },
      );
    }
    // Never deps.engine: that may be the launcher, which starts the elevated helper.
    return this.driveTask(
      'backup',
      drive!,
      this.deps.backupEngine ?? workerEngine,
      (engine) => {
        if (!engine.backup) throw new BlockwiseError('INTERNAL', 'This host’s engine cannot back drives up.');
        // Every tab hears how far it is: reading the drive, then checking the saved file.
        let shown = '';
        return engine.backup({ device: drive!.path, output: file, verify: true }, (progress) => {
          const phase = progress.phase === 'verifying' ? 'checking' : 'reading';
          const percent = Math.floor(progress.percent ?? 0);
          if (`${phase} ${percent}` === shown) return;
          shown = `${phase} ${percent}`;
          this.deps.bus.emit('drives.backupProgress', { driveId: drive!.id, phase, percent });
        });
      },
      () => new BlockwiseError('CANCELLED', `The backup of ${drive!.path} was cancelled before it began: nothing was saved.`, { path: drive!.path }),
    );
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
    // A check puts the drive's own data back as it ends: it is let finish (a second or two). A
    // backup may take minutes: it is cancelled, and its unfinished file removed.
    for (const task of this.driveTasks.values()) if (task.kind === 'backup') task.cancel();
    await Promise.all([...pending, ...[...this.driveTasks.values()].map((c) => c.done)]);
  }

  private resolveDrives(ids: string[]): DriveInfo[] {
    if (new Set(ids).size !== ids.length) throw new BlockwiseError('INVALID_REQUEST', 'The same drive was selected twice.');
    const drives = ids.map((id) => {
      const drive = this.deps.drives.get(id);
      if (!drive) throw notInScan(id);
      return drive;
    });
    this.refuseBusy(drives);
    return drives;
  }

  private refuseBusy(drives: DriveInfo[]): void {
    for (const task of this.driveTasks.values()) {
      for (const drive of drives) {
        if (task.drive.id === drive.id || task.drive.path === drive.path) {
          const doing = task.kind === 'check' ? 'being checked for fake capacity' : 'being backed up to a file';
          throw new BlockwiseError('TARGET_BUSY', `${drive.path} is ${doing}.`, { path: drive.path, busyWith: task.kind });
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

function isFolder(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}
