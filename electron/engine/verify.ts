// Readback: read every written range from the drive itself (O_DIRECT, or after flushing the
// device's cache) and compare with the hashes taken while writing. The page cache would happily
// replay what we wrote even if the card threw it away, so it must never answer these reads.

import { chunkDigest, loadChunkDigest } from './chunk-digest';
import { BlockwiseError } from '../../shared/errors';
import { alignUp, type AlignedPool } from './aligned-pool';
import type { TargetState, WrittenChunk } from './pipeline';
import type { SourceReader } from './sources/source';
import { watchReader } from './targets/io-watch';
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
  // A readback given up on a silent drive leaves what was written and flushed (io-watch.ts says
  // so); a read error or a mismatch means the drive does not hold the image.
  const written = e.code === 'CANCELLED' && e.details.unresponsive === true && e.details.driveIncomplete === false;
  state.error = { code: e.code, message: e.message, details: { ...e.details, driveIncomplete: !written } };
}

/**
 * Verifies every live target, chunk by chunk, drives in parallel: each drive's bytes are compared
 * with the chunk's XXH64 taken while writing; only a mismatch re-reads the image, to name the
 * first differing byte. A failing target gets its own error, the rest carry on.
 */
export async function verifyTargets(states: TargetState[], chunks: WrittenChunk[], options: VerifyOptions): Promise<void> {
  await loadChunkDigest(options.pool.memory);
  const { pool, signal } = options;
  const readers = new Map<TargetState, TargetReader>();
  if (chunks.some((c) => !c.digest && c.ranges.length > 0)) {
    throw new BlockwiseError('INTERNAL', 'Verification needs the digests taken while writing, and some are missing.');
  }
  try {
    for (const state of states.filter((s) => !s.error)) {
      try {
        readers.set(state, watchReader(await openTargetReader(state.target.path), state.target.path, state.watch));
        state.phase = 'verifying';
      } catch (error) {
        failTarget(state, error);
      }
    }
    if (readers.size === 0) return;
    // Each worker holds one buffer per drive: never more than the pool has.
    const workers = Math.max(1, Math.min(options.depth, Math.floor(pool.count / readers.size)));
    let next = 0;

    const checkOne = async (state: TargetState, chunk: WrittenChunk): Promise<void> => {
      const buffer = await pool.acquire();
      try {
        await readChunk(readers.get(state)!, chunk, buffer, Math.max(512, state.target.logicalBlockSize));
        if (state.error && state.error.code !== 'VERIFY_MISMATCH') return;
        if (!digestOf(chunk, buffer).equals(chunk.digest!)) {
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
        await Promise.all(live.map((state) => checkOne(state, chunk)));
      }
    };
    // Let every worker stop before the readers close; then report the first reason to stop.
    const outcomes = await Promise.allSettled(Array.from({ length: workers }, worker));
    const stopped = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (stopped) throw stopped.reason;
  } finally {
    await Promise.all([...readers.values()].map((r) => r.close()));
  }
}
