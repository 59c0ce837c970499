// Which drives have stopped answering. A write to a dying card, or through a bad hub or adapter,
// can sit in the kernel for minutes with no error; the bar then just stops, which a person reads
// as Blockwise hanging. Every operation on a drive is counted as it starts and ends: a drive with
// one outstanding and nothing finished for STALL_NOTICE_MS is reported as not responding
// (TargetProgress.stalledSeconds), so the app and the CLI can say so while they keep waiting —
// many cards pause for seconds to reorganise themselves and then carry on. And a cancel never
// waits on such a drive for more than CANCEL_GRACE_MS.

import { readFileSync, statSync } from 'node:fs';
import { BlockwiseError } from '../../../shared/errors';
import { splitDeviceNumber } from './device-geometry';
import type { Target, TargetReader } from './target';

/** Silence after which a drive with outstanding I/O is reported as not responding. */
export const STALL_NOTICE_MS = 10_000;
/** After a cancel, how long an outstanding operation may still take before it is given up on. */
export const CANCEL_GRACE_MS = 2_000;
/** What the shared give-up rejects with: never an operation's own error. */
const GIVEN_UP = Symbol('given up');

export interface IoWatchOptions {
  noticeMs?: number;
  /** The flash's cancel: operations outstanding past CANCEL_GRACE_MS after it are abandoned. */
  signal?: AbortSignal;
  now?: () => number;
}

export class IoWatch {
  private pending = 0;
  private lastActivity: number;
  private readonly noticeMs: number;
  private readonly now: () => number;
  /** Rejects CANCEL_GRACE_MS after the flash's cancel; every operation races it. */
  private readonly givenUp: Promise<never> | undefined;
  /** Set once an operation was given up on after a cancel; the kernel may still finish it. */
  abandoned = false;
  /** The kernel's count of the drive's completed sectors (followDevice), and its value when last looked at in a silence. */
  private deviceSectors: (() => number | undefined) | undefined;
  private sectorsSeen: number | undefined;

  constructor(options: IoWatchOptions = {}) {
    this.noticeMs = options.noticeMs ?? STALL_NOTICE_MS;
    this.now = options.now ?? (() => performance.now());
    this.lastActivity = this.now();
    const signal = options.signal;
    if (!signal) return;
    // A drive that stopped answering must not hold a cancel hostage: a write to a dead stick can
    // stay in the kernel until the stick is pulled. Armed once per drive, not per write.
    this.givenUp = new Promise<never>((_, reject) => {
      const arm = () => setTimeout(() => reject(GIVEN_UP), CANCEL_GRACE_MS).unref();
      if (signal.aborted) arm();
      else signal.addEventListener('abort', arm, { once: true });
    });
    this.givenUp.catch(() => undefined);
  }

  /** Operations started and not yet finished (abandoned ones included, until the kernel ends them). */
  get outstanding(): number {
    return this.pending;
  }

  /**
   * Counts `operation` (a write, flush or finish; or a read of what was written; or a read of a
   * drive nothing writes to, for verify --against: 'check') while it runs.
   */
  track<T>(path: string, operation: () => Promise<T>, kind: 'write' | 'read' | 'check' = 'write'): Promise<T> {
    // Idle time before the first outstanding operation is not the drive's silence.
    if (this.pending++ === 0) this.lastActivity = this.now();
    const done = operation().finally(() => {
      this.pending--;
      this.lastActivity = this.now();
      this.sectorsSeen = undefined;
    });
    if (!this.givenUp) return done;
    return Promise.race([done, this.givenUp]).catch((error: unknown) => {
      if (error === GIVEN_UP) {
        this.abandoned = true;
        if (kind === 'check') {
          throw new BlockwiseError('CANCELLED', `Verification was cancelled. ${path} is not responding: unplug it. Nothing was written to it.`, {
            path,
            driveIncomplete: false,
            unresponsive: true,
          });
        }
        // A stuck write leaves the drive half-written; a stuck read (verifying) leaves it written
        // (and flushed before the readback began) but unchecked: not called incomplete.
        const state =
          kind === 'write'
            ? 'still has a write pending: unplug it, and flash it again before using it.'
            : 'did not finish reading back what was written: unplug it; that data was not verified, so flash it again before trusting it.';
        throw new BlockwiseError('CANCELLED', `The flash was cancelled. ${path} is not responding and ${state}`, {
          path,
          driveIncomplete: kind === 'write',
          unresponsive: true,
        });
      }
      throw error;
    });
  }

  /**
   * Also counts as activity the sectors the kernel completes for the drive (`sectors`: its running
   * count): one write is up to 2 MiB, and a slow card (a tired one at 150 kB/s: 14 s) takes it in
   * piece by piece, request by request, before the write ends. Read by stalledSeconds (the heartbeat asks
   * once a second) once a silence has lasted half a second, never per operation: at a drive's
   * normal pace none does. A count that moved since the last look is the drive answering.
   */
  followDevice(sectors: () => number | undefined): void {
    this.deviceSectors = sectors;
  }

  /** Whole seconds the drive has been silent with work outstanding, once past the notice; else undefined. */
  stalledSeconds(): number | undefined {
    if (this.pending === 0) return undefined;
    if (this.deviceSectors && this.now() - this.lastActivity >= Math.min(500, this.noticeMs / 2)) {
      const sectors = this.deviceSectors();
      if (sectors !== undefined && this.sectorsSeen !== undefined && sectors !== this.sectorsSeen) this.lastActivity = this.now();
      this.sectorsSeen = sectors;
    }
    const silent = this.now() - this.lastActivity;
    return silent >= this.noticeMs ? Math.floor(silent / 1000) : undefined;
  }
}

/**
 * Waits for `pending`, but at most `ms`: for what may hang on a drive, a share or a process stuck
 * in a system call (closing it, its exit), which nothing else should be held back by.
 */
export async function atMost(pending: Promise<unknown>, ms: number): Promise<void> {
  await Promise.race([pending, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
}

/** Closes now, or, with abandoned I/O still in the kernel, in the background: closing waits for it. */
function closeWhenFree(watch: IoWatch, close: () => Promise<void>): Promise<void> {
  if (watch.abandoned && watch.outstanding > 0) {
    close().catch(() => undefined);
    return Promise.resolve();
  }
  return close();
}

/**
 * The running count of sectors a block device has completed, read and written (/sys/dev/block/
 * MAJ:MIN/stat, fields 3 and 7: kept in memory by the kernel, never asking the drive); undefined
 * where there is none.
 */
function completedSectors(devicePath: string): () => number | undefined {
  let statFile: string;
  try {
    const { major, minor } = splitDeviceNumber(statSync(devicePath).rdev);
    statFile = `/sys/dev/block/${major}:${minor}/stat`;
  } catch {
    return () => undefined;
  }
  return () => {
    try {
      const fields = readFileSync(statFile, 'utf8').trim().split(/\s+/);
      return Number(fields[2]) + Number(fields[6]);
    } catch {
      return undefined;
    }
  };
}

/** The same target, with each write, read, flush and finish counted by `watch`. */
export function watchTarget(target: Target, watch: IoWatch): Target {
  if (target.kind === 'block-device' && process.platform === 'linux') watch.followDevice(completedSectors(target.path));
  const watched: Target = {
    path: target.path,
    kind: target.kind,
    capacity: target.capacity,
    logicalBlockSize: target.logicalBlockSize,
    direct: target.direct,
    write: (data, position) => watch.track(target.path, () => target.write(data, position)),
    flush: () => watch.track(target.path, () => target.flush()),
    finish: (imageSize) => watch.track(target.path, () => target.finish(imageSize)),
    close: () => closeWhenFree(watch, () => target.close()),
  };
  const read = target.read?.bind(target);
  if (read) watched.read = (into, position) => watch.track(target.path, () => read(into, position), 'read');
  return watched;
}

/**
 * A readback reader of the drive at `path`, whose reads are counted by `watch`; `kind` 'check' for
 * a drive that nothing writes to (verify --against), so a read given up on says so.
 */
export function watchReader(reader: TargetReader, path: string, watch: IoWatch, kind: 'read' | 'check' = 'read'): TargetReader {
  if (kind === 'check' && process.platform === 'linux') watch.followDevice(completedSectors(path));
  return {
    direct: reader.direct,
    read: (into, position) => watch.track(path, () => reader.read(into, position), kind),
    close: () => closeWhenFree(watch, () => reader.close()),
  };
}
