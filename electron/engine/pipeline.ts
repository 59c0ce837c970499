// The write pipeline: source → hash → plan → fan-out → aligned writes, with bounded memory.
//
// One reader pulls the decompressed image into aligned pool chunks. Each chunk is hashed (for the
// image's SHA-256 and for readback), shown to the planner, and handed to every live target's
// writer; the chunk returns to the pool only when every target is done with it. The pool is the
// only buffer, so memory stays flat and the slowest drive sets the pace. The start of the drive
// that says what it holds (partition tables, boot code, whole-drive filesystem signatures) is
// zeroed at the start and written last, after everything else is on the drive, so an interrupted
// write never leaves a drive that looks bootable or shows its old partitions.

import { BlockwiseError, serializeError, type SerializedError } from '../../shared/errors';
import type { FlashPhase, TargetProgress } from '../../shared/flash-types';
import { chunkDigest, loadChunkDigest } from './chunk-digest';
import { ALIGNMENT, AlignedPool, alignedBuffer } from './aligned-pool';
import { createImageHasher, type ImageHasher } from './image-hasher';
import type { MeterSample } from './progress-meter';
import type { SourceReader } from './sources/source';
import type { Target } from './targets/target';
import { HEAD_SIZE, HELD_BACK } from './head-layout';
import { IoWatch, watchTarget, type IoWatchOptions } from './targets/io-watch';
import { alignRanges, clipRanges, rangesLength, unionRanges, type Range, type WritePlanner } from './write-planner';
import { formatBytesExact } from '../../shared/format-bytes';

export { HEAD_SIZE, HELD_BACK };

/** What was written where, so verification can read back exactly that and compare. */
export interface WrittenChunk {
  start: number;
  /** End of the image bytes this chunk carried (exclusive), written or not. */
  end: number;
  ranges: Range[];
  /**
   * XXH64 (chunk-digest.ts) of the bytes of `ranges`, concatenated in order: readback compares the
   * drive's bytes with it. Raw images get one too: comparing with the image file's own bytes
   * instead meant reading the file a second time, and readback ran at 0.69–0.70× a raw read of a
   * RAM-backed drive against 0.79–0.82× with digests. Absent when verification is off.
   */
  digest?: Buffer;
}

export interface PipelineOptions {
  pool: AlignedPool;
  signal: AbortSignal;
  planner: WritePlanner;
  /** Writes in flight per target. */
  depth: number;
  report: (sample: MeterSample, force?: boolean) => void;
  /**
   * Hash the whole image while writing (default true). Off when nothing needs the image's SHA-256
   * before the head goes out: a raw file is then hashed beside the flash, a compressed image not
   * at all (flash-hashes.ts).
   */
  hashImage?: boolean;
  /** Take the per-chunk digests readback compares with (default true); off when nothing reads back. */
  digestChunks?: boolean;
  /**
   * Called once, when the first chunk's writes are queued: work that can wait (the background
   * hashing threads) starts then, not while the first write is being prepared.
   */
  onFirstChunk?: () => void;
  /** Called once the image is fully streamed and before the head is written; may throw to stop. */
  beforeHead?: (imageSha256: string | undefined) => Promise<void> | void;
}

export interface TargetState {
  target: Target;
  bytesWritten: number;
  position: number;
  bytesVerified: number;
  phase: FlashPhase;
  error?: SerializedError;
  inFlight: Set<Promise<void>>;
  /** Counts this drive's I/O, to tell a drive that stopped answering (io-watch.ts). */
  watch: IoWatch;
  /** Its old head, when read before the flash committed to the drive (startReadingHead). */
  headRead?: Promise<HeadSnapshot>;
  /** The same, once read. */
  headSnapshot?: HeadSnapshot;
  /** Its held-back head being zeroed (startClearingHead). */
  headCleared?: Promise<ClearedHead>;
  /**
   * Something was sent to be written to it (an image file: emptied when opened): from then on a
   * flash that stops leaves it incomplete, whatever stopped it (see runPipeline).
   */
  writeStarted: boolean;
}

export interface PipelineResult {
  imageSize: number;
  /** Undefined when `hashImage` was off (see flash-hashes.ts). */
  imageSha256?: string;
  mappedBytes: number;
  chunks: WrittenChunk[];
  states: TargetState[];
}

export function newTargetState(target: Target, watchOptions: IoWatchOptions = {}): TargetState {
  const watch = new IoWatch(watchOptions);
  const watched = watchTarget(target, watch);
  const state: TargetState = { target: watched, bytesWritten: 0, position: 0, bytesVerified: 0, phase: 'starting', inFlight: new Set(), watch, writeStarted: target.kind === 'file' };
  // Every write goes through here: the head's zeros, the image, the tail, the head last.
  const write = watched.write;
  watched.write = (data, position) => {
    state.writeStarted = true;
    return write(data, position);
  };
  return state;
}

export function targetProgress(states: TargetState[]): TargetProgress[] {
  return states.map((s) => {
    const p: TargetProgress = {
      path: s.target.path,
      phase: s.error ? 'done' : s.phase,
      position: s.position,
      bytesWritten: s.bytesWritten,
      bytesVerified: s.bytesVerified,
    };
    if (s.error) p.error = s.error;
    const stalled = s.error ? undefined : s.watch.stalledSeconds();
    if (stalled !== undefined) p.stalledSeconds = stalled;
    return p;
  });
}

/** Whether the drives were left incomplete is said where the flash stops (stopped). */
function cancelled(): BlockwiseError {
  return new BlockwiseError('CANCELLED', 'The flash was cancelled.');
}

/**
 * What a stopped flash reports. Whether the drives are left incomplete is known here, not where
 * the failure arose: a source that cannot be read or decoded, a map that does not fit the image,
 * a cancel, all say so only if something had been written to a drive. An error that says it
 * itself keeps its word (a drive's own, marked by fail(); a checksum that fails after the writes).
 */
function stopped(error: unknown, states: TargetState[]): unknown {
  const written = states.some((s) => s.writeStarted);
  if (error instanceof BlockwiseError) {
    error.details.driveIncomplete ??= written;
    return error;
  }
  // Not one of Blockwise's own (a bug): its words as they are, with the drives' state.
  return written ? new BlockwiseError('INTERNAL', (error as Error)?.message ?? String(error), { driveIncomplete: true }) : error;
}

function live(states: TargetState[]): TargetState[] {
  return states.filter((s) => !s.error);
}

/** Marks a target failed; throws the error if no target is left to carry on. */
function fail(state: TargetState, error: unknown): void {
  if (state.error) return;
  const serialized = serializeError(error);
  // Incomplete once something was sent to it, unless the error knows better (target.ts, silentHead).
  serialized.details = { ...serialized.details, driveIncomplete: serialized.details?.driveIncomplete ?? state.writeStarted };
  state.error = serialized;
}

function throwIfAllFailed(states: TargetState[]): void {
  if (live(states).length > 0) return;
  const first = states[0]?.error;
  if (first) throw new BlockwiseError(first.code, first.message, first.details ?? {});
}

async function settle(state: TargetState): Promise<void> {
  await Promise.allSettled([...state.inFlight]);
}

/**
 * The first read is shorter than a chunk: the drive's first write of the image (past the held-back
 * head) goes out once a decoder has produced 512 KiB, not 2 MiB. On a drive whose start is already
 * blank nothing is zeroed, so that write starts a throttled card's clock; xz -T0 took a further
 * 5–15 ms to fill the rest of a whole chunk on two busy cores (measured).
 */
const FIRST_READ = 512 * 1024;

/** A drive's old head, read before anything is written (readHead); zeroHead acts on it. */
export interface HeadSnapshot {
  /** The first HELD_BACK bytes, and how many were read (-1: the target cannot read back). */
  held: Buffer;
  heldRead: number;
  /** The rest of the first HEAD_SIZE bytes, still being read when the snapshot is handed over. */
  rest: Buffer;
  restRead: Promise<number>;
  zeros: Buffer;
}

/**
 * Reads a drive's old head. Only reads: a flash does it while the image is still being opened,
 * so that once both are known good the first write (zeros) goes out at once. The held-back part
 * is read first; the rest is read while it is zeroed.
 */
export async function readHead(target: Target): Promise<HeadSnapshot> {
  const held = alignedBuffer(HELD_BACK);
  const rest = alignedBuffer(HEAD_SIZE - HELD_BACK);
  const zeros = alignedBuffer(HELD_BACK);
  if (!target.read) return { held, heldRead: -1, rest, restRead: Promise.resolve(-1), zeros };
  // A read that fails leaves the head to be zeroed whole; one given up on after a cancel (the drive
  // stopped answering) ends the flash, before anything more is sent to that drive.
  const read = (into: Buffer, position: number, written: boolean) =>
    target.read!(into, position).catch((error: unknown) => {
      if (error instanceof BlockwiseError && error.details.unresponsive === true) throw silentHead(target.path, written);
      return -1;
    });
  const heldRead = await read(held, 0, false);
  // Past the end of a short file target there is nothing to clear (and nothing more to read).
  const restRead = heldRead === HELD_BACK ? read(rest, HELD_BACK, true) : Promise.resolve(heldRead < 0 ? -1 : 0);
  restRead.catch(() => undefined); // awaited by zeroHead, which a cancel may never start
  return { held, heldRead, rest, restRead, zeros };
}

/** A cancel given up on a drive that never answered the reads of its head. */
function silentHead(path: string, written: boolean): BlockwiseError {
  const state = written
    ? 'did not answer when its first blocks were read: unplug it, and flash it again before using it (its start may have been cleared).'
    : 'did not answer when its first blocks were read, so nothing was written to it: unplug it, and try it in another port or card reader.';
  return new BlockwiseError('CANCELLED', `The flash was cancelled. ${path} is not responding and ${state}`, { path, driveIncomplete: written, unresponsive: true });
}

/** What zeroHead leaves: the drive's start known to be zero, and its old blocks past that. */
export interface ClearedHead {
  /** The drive reads as zeros from 0 up to here (at most HELD_BACK). */
  blankTo: number;
  /** The blocks of [HELD_BACK, HEAD_SIZE) that are not zero on the drive. */
  stale: Range[];
}

/**
 * Zeroes the drive's first HELD_BACK bytes, writing zeros only over the blocks that are not zero
 * already (a card whose start is blank costs a read, not a write). Returns how far its start is
 * now zero, so that the image's own zero blocks there need not be written again when its head goes
 * out last, and the blocks of [HELD_BACK, HEAD_SIZE) that are not zero on the drive: the pipeline
 * writes the image's own bytes over those, zeros included, so nothing of the old head survives.
 * A target that cannot read back gets all of its held-back part zeroed, and all of the rest
 * rewritten. This first write starts a throttled card's clock, so nothing but it waits on it:
 * reading the whole MiB first and the drive's opening put it 10–50 ms later on two busy cores.
 */
export async function zeroHead(target: Target, head: HeadSnapshot): Promise<ClearedHead> {
  const whole = clipRanges([{ start: HELD_BACK, end: HEAD_SIZE }], 0, target.capacity);
  let m = -1;
  let blankTo = 0;
  try {
    if (head.heldRead < 0) {
      await target.write(head.zeros, 0);
      blankTo = HELD_BACK;
    } else {
      for (const run of nonZeroRuns(head.held, head.heldRead)) await target.write(head.zeros.subarray(0, run.end - run.start), run.start);
      // Whole blocks only: a short file target's partial last block is written as it comes.
      blankTo = Math.floor(head.heldRead / ALIGNMENT) * ALIGNMENT;
    }
  } finally {
    m = await head.restRead; // never left reading into `rest` once this has returned or thrown
  }
  if (head.heldRead < 0 || m < 0) return { blankTo, stale: whole };
  return { blankTo, stale: nonZeroRuns(head.rest, m).map((r) => ({ start: r.start + HELD_BACK, end: r.end + HELD_BACK })) };
}

/**
 * A head write that failed may have left part of the image's head on the drive: the blocks before
 * the failing one (rewritten to name it, target.ts) or a write cut short. A whole-drive ext4's
 * superblock was then found on a drive whose flash had failed. Those blocks are zeroed again, one
 * by one and as far as the drive lets, so a flash stopped there leaves nothing to recognise either.
 */
async function unwriteHead(target: Target, ranges: Range[]): Promise<void> {
  const zeros = alignedBuffer(ALIGNMENT);
  for (const r of ranges) {
    for (let at = r.start; at < r.end; at += ALIGNMENT) {
      await target.write(zeros.subarray(0, Math.min(ALIGNMENT, r.end - at)), at).catch(() => undefined);
    }
  }
  await target.flush().catch(() => undefined);
}

/** readHead, then zeroHead. */
export async function clearHead(target: Target): Promise<ClearedHead> {
  return zeroHead(target, await readHead(target));
}

const ZERO_BLOCK = Buffer.alloc(ALIGNMENT);

/** The runs of ALIGNMENT-sized blocks of `data`'s first `length` bytes that are not all zero. */
function nonZeroRuns(data: Buffer, length: number): Range[] {
  const blocks = Math.ceil(Math.min(length, data.length) / ALIGNMENT);
  const blank = (i: number) => data.subarray(i * ALIGNMENT, (i + 1) * ALIGNMENT).equals(ZERO_BLOCK);
  const runs: Range[] = [];
  for (let i = 0; i < blocks; ) {
    if (blank(i)) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < blocks && !blank(end)) end++;
    runs.push({ start: i * ALIGNMENT, end: end * ALIGNMENT });
    i = end;
  }
  return runs;
}

/** Reads a drive's old head before the flash commits to it (readHead), keeping the snapshot once read. */
export function startReadingHead(state: TargetState): void {
  state.headRead = readHead(state.target);
  state.headRead.then(
    (head) => void (state.headSnapshot = head),
    () => undefined, // awaited once the flash clears the head, or when it closes the drive
  );
}

/**
 * Starts zeroing a drive's head once the flash is committed to it, from its snapshot when it was
 * read already (startReadingHead); the pipeline waits for it before writing. With the snapshot in
 * hand the zeros are sent before this returns: through a `.then` they waited for the synchronous
 * setup that follows (the buffer pool, the hashing threads), 1–7 ms on two busy cores (measured), and this
 * first write starts a throttled card's clock.
 */
export function startClearingHead(state: TargetState): void {
  if (state.headCleared) return;
  if (state.headSnapshot) state.headCleared = zeroHead(state.target, state.headSnapshot);
  else state.headCleared = state.headRead ? state.headRead.then((head) => zeroHead(state.target, head)) : clearHead(state.target);
  state.headCleared.catch(() => undefined); // the pipeline awaits it and fails the drive
}

/** Queue one write on a target, waiting while it already has `depth` writes in flight. */
/** Resolves once the write is queued, with a handle whose `done` settles when it completes. */
async function enqueueWrite(state: TargetState, data: Buffer, position: number, depth: number): Promise<{ done: Promise<void> }> {
  while (state.inFlight.size >= depth) await Promise.race(state.inFlight);
  const write = state.target
    .write(data, position)
    .then(() => {
      state.bytesWritten += data.length;
    })
    .catch((error) => fail(state, error))
    .finally(() => state.inFlight.delete(write));
  state.inFlight.add(write);
  return { done: write };
}

export async function runPipeline(source: SourceReader, states: TargetState[], options: PipelineOptions): Promise<PipelineResult> {
  await loadChunkDigest(options.pool.memory);
  const hasher = options.hashImage === false ? undefined : createImageHasher(options.pool.memory);
  try {
    return await writeImage(source, states, options, hasher);
  } catch (error) {
    throw stopped(error, states);
  } finally {
    await hasher?.close();
  }
}

async function writeImage(source: SourceReader, states: TargetState[], options: PipelineOptions, hasher: ImageHasher | undefined): Promise<PipelineResult> {
  const { pool, signal, planner, depth, report } = options;
  let lastHash: Promise<void> = Promise.resolve();
  const chunks: WrittenChunk[] = [];
  const head = alignedBuffer(HELD_BACK);
  let headRanges: Range[] = [];
  // Per drive: how far its start reads as zeros, and the blocks of its old head past HELD_BACK that
  // are not zero (clearHead).
  const cleared = new Map<TargetState, ClearedHead>();
  let offset = 0;
  let mappedBytes = 0;
  const knownSize = source.info.size;
  // Progress counts only chunks whose writes have completed, never those merely dispatched or
  // read ahead. The stored (compressed) position is the one recorded when each such chunk was
  // read: decoders and read-ahead run well ahead of the drive.
  let completedSourcePosition = 0;
  const chunksInFlight = new Set<Promise<void>>();
  let streaming = true;

  const sample = (phase: FlashPhase): MeterSample => {
    for (const s of live(states)) s.phase = phase;
    const m: MeterSample = {
      phase,
      position: Math.min(...live(states).map((s) => s.position), offset),
      deviceBytes: live(states).reduce((n, s) => Math.max(n, s.bytesWritten), 0),
      sourcePosition: completedSourcePosition,
      targets: targetProgress(states),
    };
    if (knownSize !== undefined) m.total = knownSize;
    if (source.info.storedSize !== undefined && source.info.formats[0] !== 'raw') m.sourceTotal = source.info.storedSize;
    const reconnecting = source.reconnecting?.();
    if (reconnecting) m.reconnecting = reconnecting;
    return m;
  };

  // Read-ahead: the next chunk is read while this one is hashed and queued, so the source never
  // waits for the hash and the hash never waits for the source. A source that takes several reads
  // at once (a decoding thread: it then never idles between two) gets that many.
  type Read = { buffer: Buffer; n: number; storedPosition: number };
  const readsAhead = Math.max(1, Math.min(source.concurrentReads ?? 1, pool.count - 2));
  const ahead: Array<Promise<Read>> = [];
  // Reads are issued in order: each waits for the one before it to have its buffer.
  let issuing: Promise<unknown> = Promise.resolve();
  let issued = 0;
  const issue = () => {
    const first = issued++ === 0;
    const acquired = issuing.then(() => pool.acquire());
    issuing = acquired.catch(() => undefined);
    const read = acquired.then(async (buffer): Promise<Read> => {
      try {
        const n = await source.read(first ? buffer.subarray(0, FIRST_READ) : buffer);
        return { buffer, n, storedPosition: source.storedPosition };
      } catch (error) {
        pool.release(buffer);
        throw error;
      }
    });
    read.catch(() => undefined); // handled where it is awaited; not an unhandled rejection meanwhile
    ahead.push(read);
  };
  const abandonReadAhead = () => {
    for (const read of ahead.splice(0)) read.then(({ buffer }) => pool.release(buffer), () => undefined);
  };
  for (let i = 0; i < readsAhead; i++) issue();

  try {
    // Zero the held-back head first, while the first chunks are read and decoded: until the real
    // head is written last, the drive shows nothing.
    for (const state of live(states)) {
      state.phase = 'writing';
      startClearingHead(state);
    }
    // Reported before waiting on the heads: a drive silent from its first read is then said to be
    // not responding (the flash's heartbeat repeats the latest figures; until now there were none).
    report(sample('writing'), true);
    for (const state of live(states)) {
      const done = await state.headCleared!.catch((error) => (fail(state, error), undefined));
      if (done) cleared.set(state, done);
    }
    throwIfAllFailed(states);
    report(sample('writing'), true);

    for (;;) {
      if (signal.aborted) throw cancelled();
      const { buffer, n, storedPosition } = await ahead.shift()!;
      if (n === 0) {
        pool.release(buffer);
        break;
      }
      issue();
      const data = buffer.subarray(0, n);
      const start = offset;
      const end = offset + n;
      // Hashed on its own thread while this thread plans and queues the writes.
      const hashed = hasher ? hasher.update(data) : Promise.resolve();
      hashed.catch(() => undefined); // awaited below as lastHash; not unhandled meanwhile
      lastHash = hashed;
      planner.observe(start, data);

      for (const state of live(states)) {
        if (end > state.target.capacity) {
          fail(
            state,
            new BlockwiseError(
              'IMAGE_TOO_LARGE',
              `The image is larger than ${state.target.path}, which holds ${formatBytesExact(state.target.capacity)}: it did not fit.`,
              { path: state.target.path, offset: state.target.capacity },
            ),
          );
        }
      }
      throwIfAllFailed(states);

      const ranges = alignRanges(planner.rangesToWrite(start, end), ALIGNMENT, start, end);
      const chunk: WrittenChunk = { start, end, ranges };
      chunks.push(chunk);
      mappedBytes += rangesLength(ranges);

      // Bytes of the held-back head are kept aside and written at the very end.
      if (start < HELD_BACK) {
        const headEnd = Math.min(end, HELD_BACK);
        data.copy(head, start, 0, headEnd - start);
        headRanges = headRanges.concat(clipRanges(ranges, start, headEnd));
      }
      const bodyRanges = clipRanges(ranges, HELD_BACK, end);

      const writes: Promise<void>[] = [];
      for (const state of live(states)) {
        // Where the drive's old head is not zero, the image's own bytes go too, written or not.
        const stale = start < HEAD_SIZE ? clipRanges(cleared.get(state)?.stale ?? [], Math.max(start, HELD_BACK), end) : [];
        for (const r of stale.length > 0 ? unionRanges(bodyRanges, stale) : bodyRanges) {
          writes.push((await enqueueWrite(state, data.subarray(r.start - start, r.end - start), r.start, depth)).done);
        }
      }
      // The digest is taken while this chunk's writes are under way (they only read the buffer).
      if (options.digestChunks !== false) chunk.digest = chunkDigest(data, start, ranges);
      offset = end;
      const chunkLength = n;
      const completed: Promise<void> = Promise.allSettled([...writes, hashed]).then(() => {
        for (const state of live(states)) state.position += chunkLength;
        completedSourcePosition = Math.max(completedSourcePosition, storedPosition);
        pool.release(buffer);
        chunksInFlight.delete(completed);
        if (streaming && !signal.aborted) report(sample('writing'));
      });
      completed.catch(() => undefined); // a throwing progress listener must not go unhandled
      chunksInFlight.add(completed);
      if (start === 0) options.onFirstChunk?.();
      throwIfAllFailed(states);
      report(sample('writing'));
    }
  } finally {
    streaming = false;
    abandonReadAhead();
  }
  // Wait for the last writes (and their progress), then make them durable before the head goes out.
  await Promise.all(states.map(settle));
  await Promise.allSettled([...chunksInFlight]);
  throwIfAllFailed(states);
  // The bar reaches the end of the write only now, when every write has completed.
  if (offset > 0 && !signal.aborted) report(sample('writing'), true);
  if (offset === 0) throw new BlockwiseError('SOURCE_EMPTY', `${source.info.name} contains no image data.`);
  planner.finish?.();
  if (signal.aborted) throw cancelled();
  // An image shorter than the head: what is left of the old head past its end is zeroed.
  const tailFrom = Math.max(HELD_BACK, Math.ceil(offset / ALIGNMENT) * ALIGNMENT);
  for (const state of live(states)) {
    for (const r of clipRanges(cleared.get(state)?.stale ?? [], tailFrom, HEAD_SIZE)) {
      await state.target
        .write(alignedBuffer(r.end - r.start), r.start)
        .then(() => void (state.bytesWritten += r.end - r.start))
        .catch((error) => fail(state, error));
    }
  }
  report(sample('finishing'), true);
  await Promise.all(live(states).map((s) => s.target.flush().catch((error) => fail(s, error))));
  throwIfAllFailed(states);

  await lastHash;
  const imageSha256 = hasher ? await hasher.digest() : undefined;
  await options.beforeHead?.(imageSha256);
  if (signal.aborted) throw cancelled();
  // The image's zero blocks are skipped where the drive's start was zeroed (a partition table's
  // first MiB is mostly zeros): on a 20 MB/s card up to 6 ms less, after everything else.
  const headWrites = new Map<TargetState, Range[]>();
  for (const state of live(states)) {
    const blank = cleared.get(state)?.blankTo ?? 0;
    const needed = unionRanges(nonZeroRuns(head, blank), blank < HELD_BACK ? [{ start: blank, end: HELD_BACK }] : []);
    const ranges = headRanges.flatMap((r) => clipRanges(needed, r.start, r.end));
    headWrites.set(state, ranges);
    for (const r of ranges) {
      await state.target.write(head.subarray(r.start, r.end), r.start).catch((error) => fail(state, error));
      if (state.error) {
        await unwriteHead(state.target, clipRanges(ranges, 0, r.end));
        break;
      }
    }
  }
  await Promise.all(
    live(states).map(async (s) => {
      await s.target.flush().catch((error) => fail(s, error));
      await s.target.finish(offset).catch((error) => fail(s, error));
      s.position = offset;
      s.bytesWritten += rangesLength(headWrites.get(s) ?? []);
    }),
  );
  throwIfAllFailed(states);
  return { imageSize: offset, imageSha256, mappedBytes, chunks, states };
}
