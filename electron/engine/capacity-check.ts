// Does a drive keep data across all of the size it claims? Counterfeit cards and sticks report a
// size their flash does not have: past the real size, writes are dropped, fail, or land back at
// the start (the controller ignores the address's high bits, so offset X is stored at X mod 2^k;
// F3's f3probe models fakes the same way). A flash to such a card only fails at readback, and a
// card used for files loses them silently.
//
// The check writes a test block at every multiple of a power-of-two step S (at most 129 blocks)
// and at the last block, highest first, then reads each one back from the drive (O_DIRECT: the
// drive's answer, not the page cache's). Every block is unique (its offset and a random session
// number, then bytes derived from both), so a read shows whether the block kept its own data,
// holds another probe's (the card wraps, and where to), or neither (dropped or damaged). Because
// a wrapping card's real size is a power of two no smaller than S, its first aliased probe sits
// exactly at that size. Where blocks are lost without wrapping, the boundary is narrowed by
// bisection to 1 MiB. The drive's own bytes at every probed block are read first and written
// back at the end, also after a cancel or a failure, so a genuine drive's data survives (keep
// the drive plugged in until it ends). Cost: ~4 × 130 single-block I/Os, a second or two on a card.
//
// Limits, said to the user as well: a card whose controller caches more than the ~0.5 MiB of
// test blocks could answer from its cache, and a fake that wraps at a size that is not a multiple
// of S shows up only when flashing (the readback catches it).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { BlockwiseError } from '../../shared/errors';
import type { CapacityCheckResult, CapacityVerdict, SourceSpec } from '../../shared/flash-types';

export type { CapacityCheckResult, CapacityVerdict };
import { alignedBuffer, alignDown } from './aligned-pool';
import { guardTarget } from './target-guards';
import { IoWatch, watchTarget } from './targets/io-watch';
import { inspectTarget, openTarget, type Target } from './targets/target';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
/** No image is written: the guard's checks of an image file's whereabouts do not apply. */
const NO_IMAGE: SourceSpec = { kind: 'url', url: '' };
const MAGIC = Buffer.from('BWPROBE1');
/** The grid has at most this many steps below the claimed size. */
const MAX_STEPS = 128;
/** Where blocks are dropped, the boundary is found to within this. */
const RESOLUTION = MiB;

export interface CapacityCheckOptions {
  signal?: AbortSignal;
  /**
   * Called as test blocks are written and read: `done` of about `total` I/Os; and once a second
   * while the drive has not answered for ~10 s (`stalledSeconds`, io-watch.ts), then once more
   * when it answers again (without it).
   */
  onProgress?: (done: number, total: number, stalledSeconds?: number) => void;
}

interface Probe {
  offset: number;
  original?: Buffer;
  outcome?: 'own' | 'dropped' | 'write-failed' | 'read-failed';
  /** For 'dropped': the probe whose data this block holds. */
  holds?: number;
  /** A test block was sent to the drive here (it may hold it now, even if the write failed). */
  tested?: boolean;
}

/** The grid step: the smallest power of two ≥ 1 MiB with at most MAX_STEPS steps below `claimed`. */
export function probeStep(claimed: number): number {
  let step = MiB;
  while (claimed / step > MAX_STEPS) step *= 2;
  return step;
}

/** A test block: magic, session, offset, then bytes derived from both (xorshift). */
function testBlock(into: Buffer, session: Buffer, offset: number): Buffer {
  MAGIC.copy(into, 0);
  session.copy(into, 8);
  into.writeBigUInt64LE(BigInt(offset), 16);
  let x = (session.readUInt32LE(0) ^ offset ^ Math.floor(offset / 2 ** 32)) >>> 0 || 0x9e3779b9;
  for (let i = 24; i + 4 <= into.length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    into.writeUInt32LE(x, i);
  }
  return into;
}

/** Whose test block `data` is, if any of this session's (checked in full). */
function whoseBlock(data: Buffer, session: Buffer, scratch: Buffer): number | undefined {
  if (!data.subarray(0, 8).equals(MAGIC) || !data.subarray(8, 16).equals(session)) return undefined;
  const offset = Number(data.readBigUInt64LE(16));
  return testBlock(scratch, session, offset).equals(data) ? offset : undefined;
}

function isIoFailure(error: unknown): boolean {
  return error instanceof BlockwiseError && (error.code === 'WRITE_IO_ERROR' || error.code === 'READ_IO_ERROR');
}

/**
 * Checks that `targetPath` (a whole drive) keeps data across its claimed size. Refuses what a
 * flash refuses (system disk, partition, loop devices without the test opt-in, a busy or
 * read-only drive) and anything that is not a drive.
 */
export async function checkCapacity(targetPath: string, options: CapacityCheckOptions = {}): Promise<CapacityCheckResult> {
  const started = performance.now();
  const inspected = await inspectTarget(targetPath);
  if (!inspected.geometry) {
    throw new BlockwiseError('TARGET_NOT_ALLOWED', `${targetPath} is not a drive: only a drive's capacity can be checked.`, { path: targetPath });
  }
  await guardTarget({ path: targetPath }, NO_IMAGE, '');
  // A drive that stops answering must not hold a cancel: its I/O is given up on CANCEL_GRACE_MS
  // after it (io-watch.ts), and nothing more is sent to it.
  const watch = new IoWatch({ signal: options.signal });
  const unwatched = await openTarget(targetPath, {}, inspected);
  const target = watchTarget(unwatched, watch);
  try {
    return await probe(target, unwatched, watch, options, started);
  } finally {
    await target.close();
  }
}

async function probe(target: Target, unwatched: Target, watch: IoWatch, options: CapacityCheckOptions, started: number): Promise<CapacityCheckResult> {
  const claimed = target.capacity;
  const block = Math.max(4096, target.logicalBlockSize);
  if (claimed < 2 * block) {
    throw new BlockwiseError('TARGET_NOT_ALLOWED', `${target.path} holds only ${claimed} bytes: too small to check (a check needs two blocks of ${block} bytes). Nothing was written to it.`, {
      path: target.path,
      tooSmall: true,
    });
  }
  const step = probeStep(claimed);
  const last = alignDown(claimed - block, block);
  const offsets = new Set<number>();
  for (let at = 0; at <= last; at += step) offsets.add(at);
  offsets.add(last);
  const probes: Probe[] = [...offsets].sort((a, b) => a - b).map((offset) => ({ offset }));
  const session = randomBytes(8);
  const buffer = alignedBuffer(block);
  const scratch = Buffer.alloc(block);
  const read = target.read!.bind(target);
  let done = 0;
  let total = probes.length * 4 + 2 * Math.ceil(Math.log2(step / RESOLUTION) + 1) * 4;
  const tick = () => options.onProgress?.(++done, Math.max(total, done));
  // A drive that stopped answering holds the check where it is: said once a second, so the app and
  // the CLI can name it while they wait (a cancel then ends within ~2 s).
  let wasSilent = false;
  const heartbeat = setInterval(() => {
    const silent = watch.stalledSeconds();
    if (silent !== undefined || wasSilent) options.onProgress?.(done, Math.max(total, done), silent);
    wasSilent = silent !== undefined;
  }, 1000);
  heartbeat.unref();
  const checkCancel = () => {
    if (options.signal?.aborted) throw new BlockwiseError('CANCELLED', `The check of ${target.path} was cancelled.`, { path: target.path });
  };

  // Each step's I/O error at a block is that block's outcome; anything else (the drive went away)
  // ends the check, after the original bytes are put back as far as the drive allows.
  const io = async (p: Probe, failed: 'read-failed' | 'write-failed', step: () => Promise<void>) => {
    try {
      await step();
    } catch (error) {
      if (!isIoFailure(error)) throw error;
      p.outcome = failed;
    }
    tick();
  };
  const keepOriginal = (p: Probe) =>
    io(p, 'read-failed', async () => {
      if ((await read(buffer, p.offset)) === block) p.original = Buffer.from(buffer);
      else p.outcome = 'read-failed';
    });
  const writeTest = async (p: Probe) => {
    if (p.outcome) return;
    await io(p, 'write-failed', async () => {
      p.tested = true;
      await target.write(testBlock(buffer, session, p.offset), p.offset);
    });
  };
  const readTest = async (p: Probe) => {
    if (p.outcome) return;
    await io(p, 'read-failed', async () => {
      if ((await read(buffer, p.offset)) !== block) p.outcome = 'read-failed';
      else {
        const owner = whoseBlock(buffer, session, scratch);
        p.outcome = owner === p.offset ? 'own' : 'dropped';
        if (owner !== undefined && owner !== p.offset) p.holds = owner;
      }
    });
  };
  const flush = async () => {
    try {
      await target.flush();
    } catch (error) {
      if (!isIoFailure(error)) throw error;
      // A write that failed only at fsync: the readback shows which block it was.
    }
    // Without O_DIRECT the reads would be answered from the page cache, which holds every test
    // block as written: a fake would pass. Its cached pages are dropped first (BLKFLSBUF).
    if (!target.direct && process.platform === 'linux') await execFileAsync('blockdev', ['--flushbufs', target.path]).catch(() => undefined);
  };

  const extra: Probe[] = [];
  let found: { verdict: CapacityVerdict; keeps: number; bad?: Probe; laterKept?: number } | undefined;
  let failure: unknown;
  try {
    found = await findLimit();
  } catch (error) {
    failure = error;
  }
  // Also after a cancel or a failure: the drive's own bytes go back first.
  let notBack: number;
  try {
    notBack = await putBack([...probes, ...extra]);
  } finally {
    clearInterval(heartbeat);
  }
  const restored = notBack === 0;
  if (failure !== undefined || !found) throw stopped(failure, notBack);
  const { verdict, keeps, bad, laterKept } = found;
  const r: CapacityCheckResult = { path: target.path, claimed, verdict, keeps, step, probes: probes.length + extra.length, restored, durationMs: 0 };
  if (bad) r.firstBad = bad.offset;
  if (bad?.holds !== undefined) r.wrapsTo = bad.holds;
  else if (bad?.outcome && bad.outcome !== 'own') r.failure = bad.outcome;
  if (laterKept !== undefined) r.laterKept = laterKept;
  if (bad?.outcome === 'read-failed' && !bad.tested) r.unreadable = true;
  r.durationMs = Math.round(performance.now() - started);
  return r;

  async function findLimit(): Promise<{ verdict: CapacityVerdict; keeps: number; bad?: Probe; laterKept?: number }> {
    for (const p of probes) {
      checkCancel();
      await keepOriginal(p);
    }
    // Highest first: where the card wraps, the low block written last keeps its place, and the
    // high one it aliases reads back the low one's data.
    for (const p of [...probes].reverse()) {
      checkCancel();
      await writeTest(p);
    }
    await flush();
    for (const p of probes) {
      checkCancel();
      await readTest(p);
    }

    const firstBadIndex = probes.findIndex((p) => p.outcome !== 'own');
    if (firstBadIndex < 0) return { verdict: 'genuine', keeps: claimed };
    const firstBad = probes[firstBadIndex]!;
    if (firstBad.holds !== undefined) return { verdict: 'wraps', keeps: firstBad.offset, bad: firstBad };
    // A block past the bad one that kept its own data: bad blocks (a failing drive), not a limit.
    // Still 'loses', from the first bad block on: nothing larger should be written to it.
    const laterKept = probes.slice(firstBadIndex + 1).find((p) => p.outcome === 'own')?.offset;
    if (firstBadIndex === 0) return { verdict: 'loses', keeps: 0, bad: firstBad, laterKept };

    // Dropped, damaged or refused from somewhere between the last good block and this one:
    // narrow it down with one test block at a time (no other test block is written meanwhile).
    let good = probes[firstBadIndex - 1]!.offset;
    let bad: Probe = firstBad;
    while (bad.offset - good > RESOLUTION) {
      checkCancel();
      const mid: Probe = { offset: alignDown(good + (bad.offset - good) / 2, block) };
      if (mid.offset <= good) break;
      extra.push(mid);
      total = Math.max(total, done + 4);
      await keepOriginal(mid);
      await writeTest(mid);
      await flush();
      await readTest(mid);
      if (mid.outcome === 'own') good = mid.offset;
      else bad = mid;
    }
    return { verdict: 'loses', keeps: good + block, bad, laterKept };
  }

  /**
   * Writes each tested block's original bytes back; how many blocks may still hold a test block
   * (0 when every one is back). A drive that stopped answering is sent nothing more: those writes
   * would queue behind the stuck one, in no set order with it. Not through the watch: after a
   * cancel it gives up on any write still going 2 s later, and the next write would reuse the
   * buffer of one still in flight (another block's bytes, put back here); a slow card is waited for.
   */
  async function putBack(all: Probe[]): Promise<number> {
    const tested = all.filter((p) => p.tested);
    if (tested.length === 0) return 0;
    if (watch.abandoned) return tested.length;
    let notBack = 0;
    for (const p of tested) {
      if (!p.original) {
        notBack++;
        continue;
      }
      try {
        p.original.copy(buffer);
        await unwatched.write(buffer, p.offset);
      } catch {
        notBack++;
      }
      tick();
    }
    try {
      await unwatched.flush();
    } catch {
      return tested.length;
    }
    return notBack;
  }

  /**
   * The check's own error for what stopped it (a cancel, a drive that went away or stopped
   * answering), saying what became of the drive's data. It was not flashed: the flash's words
   * ("incomplete, will not boot", "flash it again") do not apply.
   */
  function stopped(error: unknown, notBack: number): unknown {
    if (!(error instanceof BlockwiseError)) return error;
    const tested = [...probes, ...extra].some((p) => p.tested);
    const data = !tested
      ? 'Nothing had been written to it yet.'
      : notBack === 0
        ? 'Its own data was put back.'
        : `${notBack} test block${notBack === 1 ? '' : 's'} of ${block} bytes may still be on it instead of its own data: check its files before relying on them.`;
    const path = target.path;
    if (error.code === 'CANCELLED' && error.details.unresponsive === true) {
      return new BlockwiseError('CANCELLED', `The check of ${path} was cancelled. ${path} is not responding: unplug it. ${data}`, {
        path,
        driveIncomplete: false,
        unresponsive: true,
      });
    }
    if (error.code === 'CANCELLED') return new BlockwiseError('CANCELLED', `The check of ${path} was cancelled. ${data}`, { path, driveIncomplete: false });
    const reason = error.message.trimEnd().replace(/([^.!?])$/, '$1.');
    return new BlockwiseError(error.code, `The check of ${path} could not finish: ${reason} ${data}`, { ...error.details, driveIncomplete: false });
  }
}
