// zstd: a local .zst goes to libzstd on a thread of its own (zstd-thread.ts: Node's zlib where it
// has zstd, else the zstd-napi addon). Streams (downloads, an entry asked for, a tar inside) use
// Node's own zlib decoder where this Node has it (Node 22.15+/Electron; frame by frame,
// zstd-node.ts), otherwise fzstd (pure JS; zstd-frames.ts checks the frame checksums fzstd
// skips), or the zstd tool (decoder-choice.ts). All read concatenated frames. The image size is the sum of the frames' recorded content sizes, found by hopping
// from block header to block header (no data is read).

import { closeSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { SourceSpec } from '../../../shared/flash-types';
import { openDecodedFile } from './decoded-file';
import { forcedFamily } from './decoder-choice';
import type { StreamDecoder } from './decoded-source';
import type { SourceReader } from './source';
import { sliceAtBlocks } from './zstd-block-slicer';
import { checkedFzstdStream } from './zstd-frames';
import { zstdFramesThrough } from './zstd-node';
import { openZstdThread, zstdNapiPath, type ZstdEngine } from './zstd-thread';

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: (options?: object) => NodeJS.ReadWriteStream };

export function nodeHasZstd(): boolean {
  return typeof (zlib as ZlibWithZstd).createZstdDecompress === 'function';
}

/**
 * The libzstd a local .zst is decoded with on its own thread: Node's zlib where it has zstd, else
 * the zstd-napi addon where it is installed, else none (the stream way). BLOCKWISE_ZSTD_ENGINE=zlib
 * or =napi allows only that one (the tests run both where both exist).
 */
export function zstdThreadEngine(): ZstdEngine | undefined {
  const only = process.env.BLOCKWISE_ZSTD_ENGINE;
  if (only !== 'napi' && nodeHasZstd()) return {};
  const napi = only === 'zlib' ? undefined : zstdNapiPath();
  return napi === undefined ? undefined : { napi };
}

/**
 * Pure-JS streaming decoder (fzstd), with the frame checksums fzstd itself skips checked, fed in
 * block-bounded slices so a highly compressible image never decodes all at once in memory.
 */
export function fzstdStream(input: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  return checkedFzstdStream(sliceAtBlocks(input));
}

export const zstdStream: StreamDecoder = (input) => {
  const z = zlib as ZlibWithZstd;
  // Images made with --long=31 need a 2 GiB window; libzstd refuses more than 128 MiB by default.
  const windowLogMax = (z.constants as Record<string, number>).ZSTD_d_windowLogMax;
  const params = windowLogMax === undefined ? {} : { params: { [windowLogMax]: 31 } };
  const create = z.createZstdDecompress;
  // Frame by frame: Node's decoder alone stops after the first frame and ignores a cut-off one.
  if (create) return zstdFramesThrough(input, () => create({ chunkSize: 1 << 20, ...params }));
  return fzstdStream(input);
};

const FRAME_MAGIC = 0xfd2fb528;
/** Give up summing frames after this many block headers: the size then stays unknown. */
const MAX_HOPS = 200_000;
/**
 * How much is read at a time while hopping. A block is at most 128 KiB; the image's blank
 * stretches are blocks of a few bytes, many to a window. The walk is syscall-bound, not
 * copy-bound: a 256 MiB ext4 image as a 56 MB .zst (2,048 blocks), medians of 10 fresh
 * processes, took 5.8 ms with 256-byte to 2 KiB windows (~1,450 reads), 6.3 ms with 4 KiB,
 * 12.1 ms with 32 KiB and 11.2 ms with 256 KiB (the whole file copied, 199 reads).
 */
const WALK_WINDOW = 2048;
/** Reads between two turns given to the thread's other messages (~1 ms of walking). */
const READS_PER_TURN = 256;

/**
 * Sum of the frames' content sizes, or undefined when one doesn't record it or the file does not
 * parse as frames to its last byte. The flash's first write waits for it (an image too large for
 * the drive is refused before anything is written), so it reads in windows, synchronously (the
 * page cache answers in µs where each awaited read waited its turn), yielding now and then so a
 * slow disk never holds the thread's messages (Cancel) for long.
 */
export async function zstdSizeFromFrames(filePath: string, storedSize: number, windowSize = WALK_WINDOW): Promise<number | undefined> {
  // Opened without waiting in line on libuv's pool, as the xz index is: at the start of a flash the
  // drives' checks fill it, and the awaited open alone put the size (and so the first write) 8–10
  // ms later (measured).
  const fd = openSync(filePath, 'r');
  const window = Buffer.allocUnsafe(windowSize);
  let from = 0;
  let filled = 0;
  let reads = 0;
  let yielded = 0;
  /** `length` bytes at `position` (a view into the window), or undefined past the file's end. */
  const at = (position: number, length: number): Buffer | undefined => {
    if (position + length > storedSize) return undefined;
    if (position < from || position + length > from + filled) {
      reads++;
      from = position;
      filled = readSync(fd, window, 0, Math.min(windowSize, storedSize - position), position);
    }
    return position + length <= from + filled ? window.subarray(position - from, position - from + length) : undefined; // a file that shrank
  };
  const due = () => reads - yielded >= READS_PER_TURN;
  const breathe = () => {
    yielded = reads;
    return new Promise((resolve) => setImmediate(resolve));
  };
  try {
    let position = 0;
    let total = 0;
    let hops = 0;
    while (position < storedSize) {
      if (due()) await breathe();
      const magicBytes = at(position, 8);
      if (!magicBytes) return undefined;
      const magic = magicBytes.readUInt32LE(0);
      if ((magic & 0xfffffff0) === 0x184d2a50) {
        position += 8 + magicBytes.readUInt32LE(4); // skippable frame
        continue;
      }
      if (magic !== FRAME_MAGIC) return undefined;
      const descriptor = magicBytes[4]!;
      const fcsFlag = descriptor >> 6;
      const singleSegment = (descriptor >> 5) & 1;
      const hasChecksum = (descriptor >> 2) & 1;
      const didSize = [0, 1, 2, 4][descriptor & 3]!;
      const fcsSize = [singleSegment, 2, 4, 8][fcsFlag]!;
      if (fcsSize === 0) return undefined;
      const fcsAt = 1 + (singleSegment ? 0 : 1) + didSize;
      const h = at(position + 4, fcsAt + fcsSize);
      if (!h) return undefined;
      const fcs =
        fcsSize === 1 ? h[fcsAt]! : fcsSize === 2 ? h.readUInt16LE(fcsAt) + 256 : fcsSize === 4 ? h.readUInt32LE(fcsAt) : Number(h.readBigUInt64LE(fcsAt));
      total += fcs;
      position += 4 + fcsAt + fcsSize;
      for (;;) {
        if (++hops > MAX_HOPS) return undefined;
        if (due()) await breathe();
        const b = at(position, 3);
        if (!b) return undefined;
        const header = b[0]! | (b[1]! << 8) | (b[2]! << 16);
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        position += 3 + (type === 1 ? 1 : size);
        if (header & 1) break;
      }
      if (hasChecksum) position += 4;
    }
    return position === storedSize ? total : undefined;
  } finally {
    closeSync(fd);
  }
}

export async function openZstdFile(filePath: string, storedSize: number, spec: SourceSpec): Promise<SourceReader> {
  const sizing = zstdSizeFromFrames(filePath, storedSize).catch(() => undefined);
  // libzstd on a thread of its own, decoding into the writer's buffers (zstd-thread.ts), unless
  // the zstd tool is asked for or an archive entry is (the stream path handles those). The thread
  // starts while the frames are summed.
  const engine = zstdThreadEngine();
  if (engine && forcedFamily() !== 'system' && spec.entry === undefined) {
    const streamWay = () => openDecodedFile(filePath, storedSize, spec, sizing, 'zstd');
    const reader = await openZstdThread(filePath, path.basename(filePath), storedSize, sizing, engine, streamWay);
    if (reader) return reader;
  }
  return openDecodedFile(filePath, storedSize, spec, sizing, 'zstd');
}
