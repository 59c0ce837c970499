// The write pipeline: source → hash → plan → fan-out → aligned writes, with bounded memory.
//
// One reader pulls the decompressed image into aligned pool chunks. Each chunk is hashed (for the
// image's SHA-256 and for readback), shown to the planner, and handed to every live target's
// writer; the chunk returns to the pool only when every target is done with it. The pool is the
// only buffer, so memory stays flat and the slowest drive sets the pace. The first MiB (partition
// tables, boot code) is zeroed at the start and written last, after everything else is on the
// drive, so an interrupted write never leaves a drive that looks bootable.

import { BlockwiseError, serializeError, type SerializedError } from '../../shared/errors';
import type { FlashPhase, TargetProgress } from '../../shared/flash-types';
import { chunkDigest, loadChunkDigest } from './chunk-digest';
import { ALIGNMENT, AlignedPool, alignedBuffer } from './aligned-pool';
import { createImageHasher, type ImageHasher } from './image-hasher';
import type { MeterSample } from './progress-meter';
import type { SourceReader } from './sources/source';
import type { Target } from './targets/target';
import { IoWatch, watchTarget, type IoWatchOptions } from './targets/io-watch';
import { alignRanges, clipRanges, rangesLength, type Range, type WritePlanner } from './write-planner';

export const HEAD_SIZE = 1024 * 1024;

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
  return { target: watchTarget(target, watch), bytesWritten: 0, position: 0, bytesVerified: 0, phase: 'starting', inFlight: new Set(), watch };
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

function cancelled(): BlockwiseError {
  return new BlockwiseError('CANCELLED', 'The flash was cancelled.', { driveIncomplete: true });
}

function live(states: TargetState[]): TargetState[] {
  return states.filter((s) => !s.error);
}

/** Marks a target failed; throws the error if no target is left to carry on. */
function fail(state: TargetState, error: unknown): void {
  if (state.error) return;
  const serialized = serializeError(error);
  serialized.details = { ...serialized.details, driveIncomplete: true };
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
 * Makes the drive's first HEAD_SIZE bytes read as zeros, writing zeros only over the blocks that
 * are not zero already: a card whose start is blank costs a 1 MiB read instead of a 1 MiB write
 * (0.05 s at 20 MB/s, and one more erase). One that used to hold an image typically has a few
 * KiB of partition table and boot code there. A target that cannot read back gets all of it.
 */
export async function clearHead(target: Target): Promise<void> {
  const zeros = alignedBuffer(HEAD_SIZE);
  const current = alignedBuffer(HEAD_SIZE);
  const n = target.read ? await target.read(current, 0).catch(() => -1) : -1;
  if (n < 0) return target.write(zeros, 0);
  // Past the end of a short file target there is nothing to clear.
  const blocks = Math.ceil(Math.min(n, HEAD_SIZE) / ALIGNMENT);
  const blank = (i: number) => current.subarray(i * ALIGNMENT, (i + 1) * ALIGNMENT).equals(zeros.subarray(0, ALIGNMENT));
  for (let i = 0; i < blocks; ) {
    if (blank(i)) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < blocks && !blank(end)) end++;
    await target.write(zeros.subarray(0, (end - i) * ALIGNMENT), i * ALIGNMENT);
    i = end;
  }
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
  } finally {
    await hasher?.close();
  }
}

async function writeImage(source: SourceReader, states: TargetState[], options: PipelineOptions, hasher: ImageHasher | undefined): Promise<PipelineResult> {
  const { pool, signal, planner, depth, report } = options;
  let lastHash: Promise<void> = Promise.resolve();
  const chunks: WrittenChunk[] = [];
  const head = alignedBuffer(HEAD_SIZE);
  let headRanges: Range[] = [];
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

  // Zero the head first: until the real one is written last, the drive has no partition table.
  for (const state of live(states)) {
    state.phase = 'writing';
    await clearHead(state.target).catch((error) => fail(state, error));
  }
  throwIfAllFailed(states);
  report(sample('writing'), true);

  // Read-ahead: the next chunk is read while this one is hashed and queued, so the source never
  // waits for the hash and the hash never waits for the source. A source that takes several reads
  // at once (a decoding thread: it then never idles between two) gets that many.
  type Read = { buffer: Buffer; n: number; storedPosition: number };
  const readsAhead = Math.max(1, Math.min(source.concurrentReads ?? 1, pool.count - 2));
  const ahead: Array<Promise<Read>> = [];
  // Reads are issued in order: each waits for the one before it to have its buffer.
  let issuing: Promise<unknown> = Promise.resolve();
  const issue = () => {
    const acquired = issuing.then(() => pool.acquire());
    issuing = acquired.catch(() => undefined);
    const read = acquired.then(async (buffer): Promise<Read> => {
      try {
        const n = await source.read(buffer);
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
              `The image is larger than ${state.target.path} (${state.target.capacity} bytes): it did not fit at byte ${state.target.capacity}.`,
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

      // Bytes of the head are kept aside and written at the very end.
      if (start < HEAD_SIZE) {
        const headEnd = Math.min(end, HEAD_SIZE);
        data.copy(head, start, 0, headEnd - start);
        headRanges = headRanges.concat(clipRanges(ranges, start, headEnd));
      }
      const bodyRanges = clipRanges(ranges, HEAD_SIZE, end);

      const writes: Promise<void>[] = [];
      for (const state of live(states)) {
        for (const r of bodyRanges) {
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
  report(sample('finishing'), true);
  await Promise.all(live(states).map((s) => s.target.flush().catch((error) => fail(s, error))));
  throwIfAllFailed(states);

  await lastHash;
  const imageSha256 = hasher ? await hasher.digest() : undefined;
  await options.beforeHead?.(imageSha256);
  if (signal.aborted) throw cancelled();
  for (const state of live(states)) {
    for (const r of headRanges) {
      await state.target.write(head.subarray(r.start, r.end), r.start).catch((error) => fail(state, error));
    }
  }
  await Promise.all(
    live(states).map(async (s) => {
      await s.target.flush().catch((error) => fail(s, error));
      await s.target.finish(offset).catch((error) => fail(s, error));
      s.position = offset;
      s.bytesWritten += rangesLength(headRanges);
    }),
  );
  throwIfAllFailed(states);
  return { imageSize: offset, imageSha256, mappedBytes, chunks, states };
}
