// Readback: read every written range from the drive itself (O_DIRECT, or after flushing the
// device's cache) and compare with the hashes taken while writing. The page cache would happily
// replay what we wrote even if the card threw it away, so it must never answer these reads.

import { createHash } from 'node:crypto';
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
  const hash = createHash('sha256');
  for (const r of chunk.ranges) hash.update(buffer.subarray(r.start - chunk.start, r.end - chunk.start));
  return hash.digest();
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

async function verifyOne(state: TargetState, chunks: WrittenChunk[], options: VerifyOptions): Promise<void> {
  const reader = await openTargetReader(state.target.path);
  const blockSize = Math.max(512, state.target.logicalBlockSize);
  state.phase = 'verifying';
  let next = 0;
  let mismatch: BlockwiseError | undefined;

  const worker = async (): Promise<void> => {
    while (!mismatch && next < chunks.length) {
      if (options.signal.aborted) throw new BlockwiseError('CANCELLED', 'Verification was cancelled; the drive was written but not checked.');
      const chunk = chunks[next++]!;
      if (chunk.ranges.length === 0) continue;
      const buffer = await options.pool.acquire();
      try {
        await readChunk(reader, chunk, buffer, blockSize);
        if (!digestOf(chunk, buffer).equals(chunk.digest)) {
          const offset = await firstDifference(chunk, buffer, options.reopenSource);
          mismatch ??= new BlockwiseError(
            'VERIFY_MISMATCH',
            `Verification failed: ${state.target.path} differs from the image at byte ${offset}.`,
            { path: state.target.path, offset, driveIncomplete: true },
          );
          return;
        }
        state.bytesVerified += rangesLength(chunk.ranges);
        options.onProgress();
      } finally {
        options.pool.release(buffer);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.depth }, worker));
  } finally {
    await reader.close();
  }
  if (mismatch) throw mismatch;
}

/** Verifies every live target in parallel; a failing target gets its own error, the rest carry on. */
export async function verifyTargets(states: TargetState[], chunks: WrittenChunk[], options: VerifyOptions): Promise<void> {
  await Promise.all(
    states
      .filter((s) => !s.error)
      .map(async (state) => {
        try {
          await verifyOne(state, chunks, options);
        } catch (error) {
          if (error instanceof BlockwiseError && error.code === 'CANCELLED') throw error;
          const e = error instanceof BlockwiseError ? error : new BlockwiseError('READ_IO_ERROR', String((error as Error).message), { path: state.target.path });
          state.error = { code: e.code, message: e.message, details: { ...e.details, driveIncomplete: true } };
        }
      }),
  );
}
