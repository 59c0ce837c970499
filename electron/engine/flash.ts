// One flash from start to finish: open the image and the drives, refuse what must be refused,
// run the pipeline, check the checksum before the head is written, then read everything back.

// First: sizes libuv's thread pool before anything uses it (io-threads.ts).
import './io-threads';
import * as path from 'node:path';
import { BlockwiseError } from '../../shared/errors';
import type { FlashJob, FlashProgress, FlashResult, SourceSpec, TargetResult, TargetSpec } from '../../shared/flash-types';
import { formatBytesExact } from '../../shared/format-bytes';
import { AlignedPool } from './aligned-pool';
import { checkChecksum, checkGivenChecksum, resolveChecksum, type ResolvedChecksum } from './checksum';
import { findPublishedChecksumForUrl } from './checksum-files';
import { loadChunkDigest } from './chunk-digest';
import { newTargetState, runPipeline, startClearingHead, startReadingHead, targetProgress, type TargetState } from './pipeline';
import type { BmapPlanner } from './bmap/bmap-planner';
import { choosePlanner } from './planner-choice';
import { ProgressMeter } from './progress-meter';
import { guardTarget } from './target-guards';
import { targetLifecycle } from './target-lifecycle';
import { planHashes, shownDigests, type FlashHashes, type ShownDigests } from './flash-hashes';
import { openSource } from './sources/open-source';
import type { SourceReader } from './sources/source';
import { inspectTarget, openTarget, type TargetInspection } from './targets/target';
import { atMost, type IoWatchOptions } from './targets/io-watch';
import { verifyTargets } from './verify';
import { rangesLength, type WritePlanner } from './write-planner';

/**
 * 2 MiB chunks, 12 in the pool (24 MiB): 1 GiB raw, RAM-backed, write 1.30× dd (4 MiB chunks:
 * 1.24×), peak RSS 84 MB (93); 3 GiB .img.zst sparse 135 MB (204 with 4 MiB chunks and a 16 MiB
 * decoder queue).
 */
export const CHUNK_SIZE = 2 * 1024 * 1024;
/** Chunks in the pool: enough for several writes in flight per drive plus read-ahead. */
export const POOL_CHUNKS = 12;
/**
 * Writes in flight per drive. Node runs file I/O on libuv's 4 threads by default; with 4 blocking
 * O_DIRECT writes the read-ahead waited for a free thread. Measured on a RAM-backed loop device,
 * 1 GiB, alternating runs, medians of 5: with 128 KiB requests (max_sectors_kb, as on many USB
 * sticks) depth 3 wrote in 1.49 s and verified in 0.66 s, depth 4 in 1.59 s and 0.79 s, depth 2
 * in 1.93 s; with 1280 KiB requests depths 3 and 4 were equal (1.57 s / 0.76 s).
 */
export const WRITE_DEPTH = 3;

export interface FlashContext {
  signal: AbortSignal;
  onProgress: (progress: FlashProgress) => void;
  /** Test hook: runs after the write is durable and before readback. */
  beforeVerify?: () => Promise<void>;
  /** Silence after which a drive counts as not responding (io-watch.ts); tests shorten it. */
  stallNoticeMs?: number;
}

/** The write covers all of the image, or all but under a quarter (a map built before the write says). */
function denseWrite(source: SourceReader, planner: WritePlanner): boolean {
  if (planner.name === 'full') return true;
  const free = (planner as { freeBytes?: unknown }).freeBytes;
  return source.info.size !== undefined && typeof free === 'number' && free < source.info.size / 4;
}

export async function runFlash(job: FlashJob, context: FlashContext): Promise<FlashResult> {
  const result = await writeAndVerify(job, context);
  // After the targets are closed: re-read partition tables, eject (see target-lifecycle.ts).
  const ok = new Set(result.targets.filter((t) => t.ok).map((t) => t.path));
  for (const spec of job.targets) {
    if (!ok.has(spec.path)) continue;
    const finished = await targetLifecycle().finish(spec, { eject: job.options.eject ?? false });
    const target = result.targets.find((t) => t.path === spec.path)!;
    if (finished?.ejected) target.ejected = true;
    if (finished?.ejectError) target.ejectError = finished.ejectError;
  }
  return result;
}

/** What a drive's preflight found: its inspection, and the drive itself where it could be opened early. */
interface Preflight {
  inspected: TargetInspection;
  /** Opened, with its head being read (TargetState.headRead); absent for files and mounted drives. */
  early?: TargetState;
}

function watchOptions(context: FlashContext): IoWatchOptions {
  return { noticeMs: context.stallNoticeMs, signal: context.signal };
}

/**
 * Checks a drive and looks at it, reading only. A drive that nothing holds (O_EXCL) is opened and
 * its head read too, so that once the image is known good the first write goes out at once: the
 * opening and the reads took 10–40 ms on two cores busy with xz. A mounted drive is opened once it
 * is unmounted, after the image is known good; an image file, whose opening empties it, then too.
 */
async function preflightTarget(spec: TargetSpec, source: SourceSpec, imageName: string, context: FlashContext, jobTargets: readonly TargetSpec[]): Promise<Preflight> {
  // Both only read, so at once; a guard's refusal is the one reported. The guard's lookups are
  // synchronous (~2 ms): they run once the drive's inspection and the image's opening have sent
  // their first I/O, not before.
  const looking = inspectTarget(spec.path, { allowCreateFile: spec.createFile === true });
  const guarding = Promise.resolve().then(() => guardTarget(spec, source, imageName, jobTargets));
  const [guarded, looked] = await Promise.allSettled([guarding, looking]);
  if (guarded.status === 'rejected') throw guarded.reason;
  if (looked.status === 'rejected') throw looked.reason;
  const inspected = looked.value;
  if (!inspected.geometry) return { inspected };
  const target = await openTarget(spec.path, {}, inspected).catch(() => undefined);
  if (!target) return { inspected }; // opened (and its failure reported) after unmounting
  const early = newTargetState(target, watchOptions(context));
  startReadingHead(early);
  return { inspected, early };
}

/** A cancel pressed while the image and the drives were still being checked: nothing was written. */
function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw cancelledBeforeWriting();
}

function cancelledBeforeWriting(): BlockwiseError {
  return new BlockwiseError('CANCELLED', 'The flash was cancelled before anything was written to the drives.', { driveIncomplete: false });
}

/**
 * What `pending` gives (the image opened, a checksum published beside it), or the cancel's refusal
 * as soon as it is pressed: a server that has not answered yet would otherwise hold Cancel until it
 * does (or until the download's idle timeout). What comes in after the cancel goes to `late`.
 */
function untilCancelled<T>(pending: Promise<T>, signal: AbortSignal, late: (value: T) => unknown = () => undefined): Promise<T> {
  if (signal.aborted) return pending; // checked again before anything is written
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      pending.then(late, () => undefined).catch(() => undefined);
      reject(cancelledBeforeWriting());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (done: () => void) => {
      signal.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      done();
    };
    pending.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}

/**
 * When a local .xz's decoder starts: once every drive has been checked and its head read, or after
 * DRIVES_FIRST_MS, whichever is sooner. xz -T0, started at once, decodes ahead on every core and
 * slowed those checks and reads more than it gained: on two cores the first write came later.
 * Anything else opens at once: no other decoder was measured to gain from waiting (a download
 * waits on the network anyway).
 */
const DRIVES_FIRST_MS = 100;
async function drivesLookedAt(preflights: Promise<Preflight>[]): Promise<void> {
  const read = Promise.allSettled(preflights.map((p) => p.then((found) => found.early?.headRead)));
  await Promise.race([read, new Promise((resolve) => setTimeout(resolve, DRIVES_FIRST_MS).unref())]);
}

/** The drives opened early. */
function openedEarly(found: Preflight[]): TargetState[] {
  return found.flatMap((p) => (p.early ? [p.early] : []));
}

/** All drives' preflights, or the first failure (in the drives' order), with any drive opened early closed again. */
async function allPreflights(preflights: Promise<Preflight>[]): Promise<Preflight[]> {
  const settled = await Promise.allSettled(preflights);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const found = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    await closeStates(openedEarly(found));
    throw failed.reason;
  }
  return found;
}

/** Closes drives once their head's reads and zeroing have settled: never closed under their I/O. */
async function closeStates(states: TargetState[]): Promise<void> {
  await Promise.allSettled(states.flatMap((s) => [s.headRead, s.headCleared]));
  await Promise.all(states.map((s) => s.target.close()));
}

/**
 * Both results, once both are in. If either failed, an opened image is closed again and the
 * checksum's failure wins (it used to be resolved first), else the image's.
 */
async function checksumAndSource(
  checksum: Promise<ResolvedChecksum | undefined>,
  source: Promise<SourceReader>,
): Promise<[ResolvedChecksum | undefined, SourceReader]> {
  const [c, s] = await Promise.allSettled([checksum, source]);
  if (c.status === 'fulfilled' && s.status === 'fulfilled') return [c.value, s.value];
  if (s.status === 'fulfilled') await s.value.close().catch(() => undefined);
  throw c.status === 'rejected' ? c.reason : (s as PromiseRejectedResult).reason;
}

async function writeAndVerify(job: FlashJob, context: FlashContext): Promise<FlashResult> {
  const started = performance.now();
  if (job.targets.length === 0) throw new BlockwiseError('INVALID_REQUEST', 'No target drive was given.');
  const paths = job.targets.map((t) => t.path);
  if (new Set(paths).size !== paths.length) throw new BlockwiseError('INVALID_REQUEST', 'The same drive was given twice.');

  // Three things that wait on nothing but I/O overlap, and nothing is written before all of them
  // are in: the job's checksum or one published beside the image, the image's opening and check,
  // and the readback hasher's WebAssembly (~10 ms each for a local file; more for a URL).
  checkGivenChecksum(job);
  loadChunkDigest().catch(() => undefined); // the pipeline awaits it, and reports a failure
  // The drives' checks (is it the system's drive, does it hold the image, is it the one chosen)
  // only read, so they run meanwhile too, and so does the look at each drive (its size, whether
  // it is write-protected). A drive nothing holds is opened and its head read (still only reads);
  // nothing is unmounted or written before the image and every drive are known good. A local
  // `.xz`'s decoder starts once that look is done (drivesLookedAt).
  const imageName = job.source.kind === 'file' ? path.basename(job.source.path) : job.source.url;
  const preflights = job.targets.map((spec) => preflightTarget(spec, job.source, imageName, context, job.targets));
  const guards = allPreflights(preflights);
  guards.catch(() => undefined); // awaited once the image is open; its own failure comes first
  let checksum: ResolvedChecksum | undefined;
  let source: SourceReader;
  try {
    const beforeDecoding = (format: string) => (format === 'xz' ? drivesLookedAt(preflights) : undefined);
    const opening = untilCancelled(openSource(job.source, { beforeDecoding }), context.signal, (late) => late.close());
    [checksum, source] = await checksumAndSource(untilCancelled(resolveChecksum(job), context.signal), opening);
    // A link that redirects (a "latest" link, a mirror) has its checksum published beside the
    // file it leads to: looked for only beside the address given, it was "none published".
    if (!checksum && job.source.kind === 'url' && source.finalUrl !== undefined && source.finalUrl !== job.source.url) {
      const beside = await untilCancelled(findPublishedChecksumForUrl(source.finalUrl), context.signal).catch(async (error: unknown) => {
        await source.close().catch(() => undefined);
        throw error;
      });
      if (beside) checksum = { spec: beside.spec, origin: beside.file };
    }
  } catch (error) {
    // Drives opened early are closed again; a drive that stopped answering mid-read does not hold
    // the image's error back for long (it is closed whenever its read returns).
    const closing = guards.then((found) => closeStates(openedEarly(found)), () => undefined);
    await atMost(closing, 2000);
    throw error;
  }
  // A download stalled mid-read would otherwise hold Cancel until its idle timeout.
  const abortSource = () => source.abort?.();
  context.signal.addEventListener('abort', abortSource, { once: true });
  const states: TargetState[] = [];
  let early: TargetState[] = [];
  let hashes: FlashHashes | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  // What to write (a .bmap, or a scan of the image's filesystems) is worked out while the drives
  // are checked, unmounted and opened.
  const planning = choosePlanner(job, source);
  planning.catch(() => undefined); // awaited below, or in `finally` when a drive failed first
  try {
    const found = await guards;
    early = openedEarly(found);
    throwIfCancelled(context.signal); // before anything is unmounted
    for (const [i, spec] of job.targets.entries()) {
      await targetLifecycle().prepare(spec);
      const opened = found[i]!.early;
      states.push(opened ?? newTargetState(await openTarget(spec.path, { allowCreateFile: spec.createFile === true }, found[i]!.inspected), watchOptions(context)));
    }
    const size = source.info.size ?? source.info.sizeAtLeast;
    for (const { target } of states) {
      if (size !== undefined && size > target.capacity) {
        // gzip records the size only in its last four bytes, which a cut-off download fills with whatever came last.
        // (Only for a bare .gz: a tar or zip inside records its image's size itself.)
        const gzipNote =
          source.info.formats.length === 1 && source.info.formats[0] === 'gzip' && source.info.size === undefined
            ? ' That size is the one the gzip trailer records: if the file is a download cut short, it means nothing, so check the file (gzip -t) or download it again.'
            : '';
        throw new BlockwiseError(
          'IMAGE_TOO_LARGE',
          `The image is ${formatBytesExact(size)}, larger than ${target.path}, which holds ${formatBytesExact(target.capacity)}. Nothing was written.${gzipNote}`,
          { path: target.path },
        );
      }
    }

    const planner = await planning;
    // Everything is known good now: the drives' old heads are zeroed while the rest is set up
    // (the first write starts a throttled card's clock; see clearHead).
    throwIfCancelled(context.signal); // the clearing is the first write
    for (const state of states) startClearingHead(state);

    const pool = new AlignedPool(CHUNK_SIZE, Math.max(POOL_CHUNKS, 4 + 2 * states.length));
    const meter = new ProgressMeter(context.onProgress);
    // Progress is sent as I/O completes; a drive that stopped answering, or a download whose
    // connection broke, completes nothing: the latest figures go out again, once a second saying
    // which drive is silent, every 250 ms where the download is reconnecting (its first pause is
    // 500 ms) and once more when it is back.
    let wasReconnecting = false;
    let ticks = 0;
    heartbeat = setInterval(() => {
      const reconnecting = source.reconnecting?.();
      const stalled = ++ticks % 4 === 0 && states.some((s) => !s.error && s.watch.stalledSeconds() !== undefined);
      if (reconnecting || wasReconnecting || stalled) meter.refresh(targetProgress(states), reconnecting);
      wasReconnecting = reconnecting !== undefined;
    }, 250);
    hashes = planHashes(source, checksum, denseWrite(source, planner));
    const pipelineStart = performance.now();
    const written = await runPipeline(source, states, {
      pool,
      signal: context.signal,
      planner,
      depth: WRITE_DEPTH,
      report: (sample, force) => meter.update(sample, force),
      hashImage: hashes.inPipeline,
      digestChunks: job.options.verify,
      onFirstChunk: () => hashes!.start(),
      beforeHead: async (imageSha256) => {
        const stored = checksum ? await hashes!.fileSha256() : undefined;
        await checkChecksum(checksum, source, imageSha256 ?? '', stored);
      },
    });
    const writeMs = performance.now() - pipelineStart;

    let verifyMs = 0;
    if (job.options.verify) {
      await context.beforeVerify?.();
      const verifyStart = performance.now();
      const total = rangesLength(written.chunks.flatMap((c) => c.ranges));
      const report = (force = false) =>
        meter.update(
          {
            phase: 'verifying',
            position: Math.min(...states.filter((s) => !s.error).map((s) => s.bytesVerified)),
            total,
            deviceBytes: states.reduce((n, s) => Math.max(n, s.bytesVerified), 0),
            targets: targetProgress(states),
          },
          force,
        );
      report(true);
      // Readback gets the machine to itself: beside it the hashing thread cost a third of its
      // speed on two cores (a core, memory traffic, every read completion preempting it). The
      // SHA-256 is only shown at the end, so it resumes when the flash asks for it, just after.
      hashes.pause();
      await verifyTargets(states, written.chunks, {
        pool,
        signal: context.signal,
        depth: WRITE_DEPTH,
        reopenSource: () => openSource(job.source),
        onProgress: () => report(),
      });
      verifyMs = performance.now() - verifyStart;
    }
    // The SHA-256s hashed beside the flash: usually ready by now; on a fast drive, the rest of them.
    const waitStart = performance.now();
    const live = states.some((s) => !s.error);
    const digests: ShownDigests = live ? await shownDigests(hashes, written.imageSha256) : {};
    const hashWaitMs = performance.now() - waitStart;
    for (const s of states) if (!s.error) s.phase = 'done';
    meter.update({ phase: 'done', position: written.imageSize, total: written.imageSize, deviceBytes: 0, targets: targetProgress(states) }, true);

    const targets: TargetResult[] = states.map((s) => {
      const r: TargetResult = { path: s.target.path, ok: !s.error, bytesWritten: s.bytesWritten, verified: !s.error && job.options.verify };
      if (s.error) r.error = s.error;
      return r;
    });
    const failed = states.find((s) => s.error);
    if (failed?.error && targets.every((t) => !t.ok)) {
      throw new BlockwiseError(failed.error.code, failed.error.message, failed.error.details ?? {});
    }
    const result: FlashResult = {
      imageSize: written.imageSize,
      mappedBytes: written.mappedBytes,
      durationMs: performance.now() - started,
      writeMs,
      verifyMs,
      hashWaitMs,
      targets,
    };
    Object.assign(result, digests);
    // What left the rest out, for the words ("not mapped in its block map", "unused space").
    if (planner.name === 'bmap') result.blockMap = (planner as BmapPlanner).bmap.path;
    if (checksum) result.checksumVerified = true;
    if (checksum && checksum.origin !== 'job') result.checksumPublishedIn = checksum.origin;
    return result;
  } finally {
    clearInterval(heartbeat);
    await hashes?.close();
    await closeStates([...new Set([...early, ...states])]);
    context.signal.removeEventListener('abort', abortSource);
    await planning.catch(() => undefined); // a filesystem scan may still be reading the image
    await source.close();
  }
}

export type { SourceReader };
