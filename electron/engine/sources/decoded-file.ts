// Compressed files go through the same stream decoders as downloads; what a file adds is random
// access, used only to learn the image size up front (xz index, zip directory, gzip trailer).

import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../../shared/errors';
import type { SourceSpec } from '../../../shared/flash-types';
import { openDecodedStream } from './decoded-source';
import { firstUnreadableByte, imageReadError } from './read-failure';
import type { SourceFormat, SourceReader } from './source';

/** Reads of 1 MiB: large enough for decoders to work in bulk, small enough to stay flat. */
export const FILE_CHUNK = 1 << 20;

/**
 * The file's bytes in chunks. Opened on the first read, not before: a decoder that reads the file
 * itself (a tool given it as stdin) never starts this, and closing it then has nothing to close.
 */
export async function* fileChunks(filePath: string, start = 0, end?: number): AsyncGenerator<Buffer> {
  const options: Parameters<typeof createReadStream>[1] = { start, highWaterMark: FILE_CHUNK };
  if (end !== undefined) options.end = end - 1;
  const stream = createReadStream(filePath, options);
  const chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let position = start;
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (error) {
        throw await chunkReadError(filePath, position, error);
      }
      if (next.done) return;
      position += next.value.length;
      yield next.value;
    }
  } finally {
    stream.destroy();
  }
}

/**
 * A failed read of the file, said as one with the byte that fails (decoders would call it damaged
 * data); `placed`, so the decoder's reading position is not added as where it happened.
 */
async function chunkReadError(filePath: string, position: number, error: unknown): Promise<BlockwiseError> {
  let failed = position;
  if ((error as NodeJS.ErrnoException).code === 'EIO') {
    const handle = await fsp.open(filePath, 'r').catch(() => undefined);
    if (handle) {
      try {
        failed = await firstUnreadableByte(async (into, length, at) => (await handle.read(into, 0, length, at)).bytesRead, position, FILE_CHUNK);
      } finally {
        await handle.close().catch(() => undefined);
      }
    }
  }
  const said = imageReadError(filePath, failed, error);
  return new BlockwiseError(said.code, said.message, { ...said.details, placed: true });
}

/** Reads `length` bytes at `position` (fewer at the end of the file). */
export async function readRange(filePath: string, position: number, length: number): Promise<Buffer> {
  const handle = await fsp.open(filePath, 'r');
  try {
    const out = Buffer.alloc(length);
    const { bytesRead } = await handle.read(out, 0, length, position);
    return out.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Opens a compressed file. `size` is the image size the format records up front (xz index, zstd
 * frames), or its promise: it is worked out from the end of the file while the decoder starts at
 * the beginning, and it is the image's size only when nothing else (a tar, a zip) is inside.
 * `format` is the file's compression, where the caller already told it from the file's start.
 */
export async function openDecodedFile(
  filePath: string,
  storedSize: number,
  spec: SourceSpec,
  size?: number | Promise<number | undefined>,
  format?: SourceFormat,
): Promise<SourceReader> {
  const meta: Parameters<typeof openDecodedStream>[1] = { name: path.basename(filePath), storedSize, path: filePath, storedFile: filePath };
  if (format !== undefined) meta.format = format;
  if (spec.entry !== undefined) meta.entry = spec.entry;
  const reader = await openDecodedStream(fileChunks(filePath), meta);
  const known = await size;
  if (known !== undefined && reader.info.formats.length === 1) reader.info.size = known;
  return reader;
}
