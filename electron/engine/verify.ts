// Readback: read every written range from the drive itself (O_DIRECT, or after flushing the
// device's cache) and compare with the hashes taken while writing. The page cache would happily
// replay what we wrote even if the card threw it away, so it must never answer these reads.

import { chunkDigest, loadChunkDigest } from './chunk-digest';
import { BlockwiseError } from '../../shared/errors';
import { alignUp, type AlignedPool } from './aligned-pool';
import type { TargetState, WrittenChunk } from './pipeline';
import type { SourceReader } from './sources/source';
import { openTargetReader, type TargetReader } from './targets/target';
import { rangesLength } from './write-planner';

export interface VerifyOptions {
  pool: AlignedPool;
  signal: AbortSignal;
  depth: number;
  /** Re-opens the image, to find the exact first differing byte once a chunk mismatches. */
  reopenSource: () => Promise<SourceReader>;
  onProgress: () => void;
}

/** Reads a chunk's written ranges into `buffer` at their offsets relative to the chunk start. */
async function readChunk(reader: TargetReader, chunk: WrittenChunk, buffer: Buffer, blockSize: number): Promise<void> {
  const first = chunk.ranges[0];
  const last = chunk.ranges[chunk.ranges.length - 1];
  if (!first || !last) return;
  const span = last.end - first.start;
  // Dense chunks are read in one request; sparse ones range by range.
  const spans = rangesLength(chunk.ranges) * 2 >= span ? [{ start: first.start, end: last.end }] : chunk.ranges;
  for (const r of spans) {
    const rel = r.start - chunk.start;
    const length = Math.min(alignUp(r.end - r.start, blockSize), buffer.length - rel);
    await reader.read(buffer.subarray(rel, rel + length), r.start);
  }
}

function digestOf(chunk: WrittenChunk, buffer: Buffer): Buffer {
  return chunkDigest(buffer, chunk.start, chunk.ranges);
}

/** Finds the first byte of `chunk` where the device differs from the image. */
export async function firstDifference(chunk: WrittenChunk, deviceBytes: Buffer, reopenSource: () => Promise<SourceReader>): Promise<number> {
  const source = await reopenSource();
  try {
    const length = chunk.ranges[chunk.ranges.length - 1]!.end - chunk.start;
    const image = Buffer.alloc(length);
    if (source.readAt) {
      await source.readAt(image, chunk.start);
    } else {
      const skip = Buffer.alloc(Math.min(chunk.start, 4 * 1024 * 1024) || 1);
      let position = 0;
      while (position < chunk.start) {
        const n = await source.read(skip.subarray(0, Math.min(skip.length, chunk.start - position)));
        if (n === 0) break;
        position += n;
      }
      await source.read(image);
    }
    for (const r of chunk.ranges) {
      for (let i = r.start - chunk.start; i < r.end - chunk.start; i++) {
        if (image[i] !== deviceBytes[i]) return chunk.start + i;
      }
    }
    return chunk.ranges[0]!.start;
  } finally {
    await source.close();
  }
}

/** Reads the image bytes under a chunk's ranges into `into` (offsets relative to the chunk start). */
async function readImage(image: SourceReader, chunk: WrittenChunk, into: Buffer): Promise<Buffer> {
  const length = chunk.ranges[chunk.ranges.length - 1]!.end - chunk.start;
  const n = await image.readAt!(into.subarray(0, length), chunk.start);
  if (n < length) {
    throw new BlockwiseError('SOURCE_TRUNCATED', `${image.info.name} got shorter during the flash: it ends at byte ${chunk.start + n}.`, {
      offset: chunk.start + n,
    });
  }
  return into.subarray(0, length);
}

/** First byte of `chunk` where the device bytes differ from the image bytes, or -1. */
function firstDifferenceIn(chunk: WrittenChunk, device: Buffer, image: Buffer): number {
  for (const r of chunk.ranges) {
    const a = r.start - chunk.start;
    const b = r.end - chunk.start;
    if (device.subarray(a, b).equals(image.subarray(a, b))) continue;
    for (let i = a; i < b; i++) if (device[i] !== image[i]) return chunk.start + i;
  }
  return -1;
}

function mismatch(state: TargetState, offset: number): BlockwiseError {
  return new BlockwiseError('VERIFY_MISMATCH', `Verification failed: ${state.target.path} differs from the image at byte ${offset}.`, {
    path: state.target.path,
    offset,
    driveIncomplete: true,
  });
}

function cancelledVerify(): BlockwiseError {
  return new BlockwiseError('CANCELLED', 'Verification was cancelled; the drive was written but not checked.');
}

/** Chunks are checked in parallel: the mismatch reported is the lowest offset found, not the first. */
function recordMismatch(state: TargetState, offset: number): void {
  const known = state.error?.code === 'VERIFY_MISMATCH' ? state.error.details?.offset : undefined;
  if (state.error && (known === undefined || known <= offset)) return;
  state.error = undefined;
  failTarget(state, mismatch(state, offset));
}

/** A drive that failed readback gets its own error; the others carry on. */
function failTarget(state: TargetState, error: unknown): void {
  if (state.error) return;
  const e = error instanceof BlockwiseError ? error : new BlockwiseError('READ_IO_ERROR', String((error as Error).message), { path: state.target.path });
  state.error = { code: e.code, message: e.message, details: { ...e.details, driveIncomplete: true } };
}

/**
 * Verifies every live target, chunk by chunk: each chunk's image bytes are read once (raw images)
 * and compared with every drive's readback, drives in parallel; chunks from streams are compared
 * by the SHA-256 taken while writing. A failing target gets its own error, the rest carry on.
 */
export async function verifyTargets(states: TargetState[], chunks: WrittenChunk[], options: VerifyOptions): Promise<void> {
  await loadChunkDigest(options.pool.memory);
  const { pool, signal } = options;
  const readers = new Map<TargetState, TargetReader>();
  const needsImage = chunks.some((c) => !c.digest && c.ranges.length > 0);
  let image: SourceReader | undefined;
  try {
    for (const state of states.filter((s) => !s.error)) {
      try {
        readers.set(state, await openTargetReader(state.target.path));
        state.phase = 'verifying';
      } catch (error) {
        failTarget(state, error);
      }
    }
    if (readers.size === 0) return;
    if (needsImage) {
      image = await options.reopenSource();
      if (!image.readAt) throw new BlockwiseError('INTERNAL', `${image.info.name} cannot be re-read for verification.`);
    }
    // Each worker holds one buffer per drive plus one for the image: never more than the pool has.
    const perChunk = readers.size + (image ? 1 : 0);
    const workers = Math.max(1, Math.min(options.depth, Math.floor(pool.count / perChunk)));
    let next = 0;

    const checkOne = async (state: TargetState, chunk: WrittenChunk, imageBytes: Buffer | undefined, imageRead: Promise<void>): Promise<void> => {
      const buffer = await pool.acquire();
      try {
        await readChunk(readers.get(state)!, chunk, buffer, Math.max(512, state.target.logicalBlockSize));
        if (await imageRead.then(() => false, () => true)) return; // the worker reports the image's own error
        if (state.error && state.error.code !== 'VERIFY_MISMATCH') return;
        if (imageBytes) {
          const offset = firstDifferenceIn(chunk, buffer, imageBytes);
          if (offset >= 0) return recordMismatch(state, offset);
        } else if (!digestOf(chunk, buffer).equals(chunk.digest!)) {
          return recordMismatch(state, await firstDifference(chunk, buffer, options.reopenSource));
        }
        if (state.error) return;
        state.bytesVerified += rangesLength(chunk.ranges);
        options.onProgress();
      } catch (error) {
        if (error instanceof BlockwiseError && (error.code === 'CANCELLED' || error.code.startsWith('SOURCE_'))) throw error;
        failTarget(state, error);
      } finally {
        pool.release(buffer);
      }
    };

    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        if (signal.aborted) throw cancelledVerify();
        const live = [...readers.keys()].filter((s) => !s.error);
        if (live.length === 0) return;
        const chunk = chunks[next++]!;
        if (chunk.ranges.length === 0) continue;
        const imageBytes = chunk.digest ? undefined : await pool.acquire();
        try {
          // The image's bytes and every drive's are read at the same time, then compared.
          const imageRead = imageBytes ? readImage(image!, chunk, imageBytes) : Promise.resolve(undefined);
          const settled = imageRead.then(() => undefined);
          const comparing = live.map((state) => checkOne(state, chunk, imageBytes, settled));
          await Promise.all([settled, ...comparing]);
        } finally {
          if (imageBytes) pool.release(imageBytes);
        }
      }
    };
    // Let every worker stop before the readers close; then report the first reason to stop.
    const outcomes = await Promise.allSettled(Array.from({ length: workers }, worker));
    const stopped = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (stopped) throw stopped.reason;
  } finally {
    await Promise.all([...readers.values()].map((r) => r.close()));
    await image?.close();
  }
}
