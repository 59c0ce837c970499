// A local .zst decoded on a thread of its own, straight into the writer's buffers. Where Node's
// zlib has zstd (Node 22.15+ and so Electron), the thread runs libzstd over the file and lets it
// write its output directly into the pool's shared memory: no pipe, no copy, and the flashing
// thread only queues writes. Measured on a 1 GiB ext4 image (.img.zst, 244 MB) to a RAM-backed
// loop device, Node 22.23: 0.79–0.93 s against 0.93–1.11 s for `zstd -dc | dd` (the stream path
// before it, zlib's decoder handing each MiB back to the flashing thread: 1.13 s).
//
// Node's zstd stream stops after the first frame and ends quietly on a frame cut short
// (zstd-node.ts), so the thread does what the stream does not: it finds each frame's end by its
// block headers before decoding it, gives each frame a decoder of its own, and reports data that
// ends inside a frame (after decoding what is there) or that is not a frame at all.
//
// The decoder is driven through the handle under Node's zlib stream (`_handle.writeSync`, the
// call zlib's own synchronous API makes). That is not public API: the thread checks it is there
// first, and where it is not (or no thread starts, or the image inside is a tar), the file goes
// the stream way instead (openZstdFile).

import { Worker } from 'node:worker_threads';
import { decodeFailure, classifyHead, type StreamMeta } from './decoded-source';
import type { SourceInfo, SourceReader } from './source';

// Inline source: no extra file to locate in dist/ or inside an asar archive.
const ZSTD_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const zlib = require('node:zlib');
const { path: filePath, size: fileSize } = workerData;
const FRAME_MAGIC = 0xfd2fb528;
const READ = 1 << 20;
const windowLogMax = zlib.constants.ZSTD_d_windowLogMax;
// Images made with --long=31 need a 2 GiB window; libzstd refuses more than 128 MiB by default.
const options = windowLogMax === undefined ? {} : { params: { [windowLogMax]: 31 } };

function newDecoder() {
  const stream = zlib.createZstdDecompress(options);
  const handle = stream._handle;
  const state = stream._writeState;
  if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array)) return undefined;
  const decoder = { handle, state, error: undefined };
  handle.onerror = (message) => { decoder.error = message; };
  return decoder;
}

class Failure extends Error {
  constructor(message, truncated) { super(message); this.truncated = truncated; }
}

const fd = fs.openSync(filePath, 'r');
const small = Buffer.alloc(8);
const input = Buffer.allocUnsafe(READ);
/** Stored bytes given to a decoder or skipped so far. */
let stored = 0;

function at(position, length) {
  return fs.readSync(fd, small, 0, length, position) === length ? small : undefined;
}

function endedEarly() {
  return new Failure('zstd data ended early, inside a frame (unexpected end at byte ' + fileSize + ')', true);
}

/** End of the frame at start, from its block headers: { end }, { cut: true } or { bad }. */
function frameEnd(start) {
  const h = at(start + 4, 1);
  if (!h) return { cut: true };
  const d = h[0];
  const single = (d >> 5) & 1;
  let p = start + 5 + (single ? 0 : 1) + [0, 1, 2, 4][d & 3] + [single, 2, 4, 8][d >> 6];
  for (;;) {
    const b = at(p, 3);
    if (!b) return { cut: true };
    const header = b[0] | (b[1] << 8) | (b[2] << 16);
    const type = (header >> 1) & 3;
    if (type === 3) return { bad: 'corrupt zstd data: reserved block type at byte ' + p };
    p += 3 + (type === 1 ? 1 : header >>> 3);
    if (header & 1) break;
  }
  if ((d >> 2) & 1) p += 4;
  return p > fileSize ? { cut: true } : { end: p };
}

/** Decodes the file frame by frame; yields when the output it was given is full, and is given the next. */
function* decodeFile() {
  let out = yield;
  let pos = 0;
  while (pos < fileSize) {
    const m = at(pos, 4);
    if (!m) throw endedEarly();
    const magic = m.readUInt32LE(0);
    if (((magic & 0xfffffff0) >>> 0) === 0x184d2a50) {
      const s = at(pos + 4, 4);
      if (!s || pos + 8 + s.readUInt32LE(0) > fileSize) throw endedEarly();
      pos += 8 + s.readUInt32LE(0);
      stored = pos;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Failure('corrupt zstd data: no frame starts at byte ' + pos, false);
    const frame = frameEnd(pos);
    if (frame.bad) throw new Failure(frame.bad, false);
    // A frame cut short is decoded as far as it goes, then reported.
    const end = frame.cut ? fileSize : frame.end;
    const decoder = newDecoder();
    let next = pos;
    let inOff = 0;
    let inLen = 0;
    for (;;) {
      if (inLen === 0 && next < end) {
        inLen = fs.readSync(fd, input, 0, Math.min(READ, end - next), next);
        if (inLen === 0) throw endedEarly(); // the file shrank under us
        inOff = 0;
        next += inLen;
      }
      const room = out.length - out.filled;
      decoder.handle.writeSync(0, input, inOff, inLen, out.view, out.offset + out.filled, room);
      if (decoder.error !== undefined) throw new Failure(decoder.error, false);
      const used = inLen - decoder.state[1];
      inOff += used;
      inLen -= used;
      stored += used;
      out.filled += room - decoder.state[0];
      if (out.filled === out.length) out = yield;
      // All of the frame is in and the output has room left: the decoder has given all it had.
      else if (inLen === 0 && next >= end) break;
    }
    decoder.handle.close();
    if (frame.cut) throw endedEarly();
    pos = end;
  }
}

const memories = new Map();
let decoding;
const probe = newDecoder();
if (probe) probe.handle.close();
parentPort.postMessage({ ready: probe !== undefined });
parentPort.on('message', (m) => {
  if (m.attach !== undefined) {
    memories.set(m.attach, Buffer.from(m.memory));
    return;
  }
  const out = { view: memories.get(m.memory), offset: m.offset, length: m.length, filled: 0 };
  try {
    if (!decoding) {
      decoding = decodeFile();
      decoding.next();
    }
    decoding.next(out);
    parentPort.postMessage({ n: out.filled, stored });
  } catch (e) {
    decoding = { next: () => { throw e; } };
    parentPort.postMessage({ n: out.filled, stored, error: String((e && e.message) || e), truncated: Boolean(e && e.truncated) });
  }
});
`;

interface Reply {
  n: number;
  stored: number;
  error?: string;
  truncated?: boolean;
}

let started = 0;

/** How many decoding threads this process has started (tests check which way a file was decoded). */
export function zstdThreadRuns(): number {
  return started;
}

/** Bytes of the decoded image looked at before deciding this path fits (a tar inside does not). */
const HEAD_BYTES = 65536;

class ZstdThreadReader implements SourceReader {
  readonly info: SourceInfo;
  readonly storedFile: { path: string; size: number };
  storedPosition = 0;
  private imagePosition = 0;
  private head: Buffer | undefined;
  private finished = false;
  private failure: Error | undefined;
  private waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  private readonly attached = new Map<SharedArrayBuffer, number>();
  private scratch: Buffer | undefined;

  constructor(
    private readonly worker: Worker,
    private readonly meta: StreamMeta & { path: string; storedSize: number },
    size: number | undefined,
  ) {
    this.info = { name: meta.name, formats: ['zstd'], storedSize: meta.storedSize, randomAccess: false };
    if (size !== undefined) this.info.size = size;
    this.storedFile = { path: meta.path, size: meta.storedSize };
    worker.on('message', (m: Reply | { ready: boolean }) => {
      if ('ready' in m) return;
      const w = this.waiting;
      this.waiting = undefined;
      w?.resolve(m);
    });
    const stop = (error: Error) => {
      this.failure ??= error;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(error);
    };
    worker.on('error', stop);
    worker.on('exit', (code) => stop(new Error(`the decoding thread stopped (exit code ${code})`)));
  }

  /** Has the thread decode into `into` (pool memory directly when it is shared, else via a scratch buffer). */
  async decodeInto(into: Buffer): Promise<number> {
    if (this.failure) throw this.failure;
    let target = into;
    if (!(into.buffer instanceof SharedArrayBuffer)) {
      if (!this.scratch || this.scratch.length < into.length) this.scratch = Buffer.from(new SharedArrayBuffer(into.length));
      target = this.scratch.subarray(0, into.length);
    }
    const memory = target.buffer as SharedArrayBuffer;
    let id = this.attached.get(memory);
    if (id === undefined) {
      id = this.attached.size;
      this.attached.set(memory, id);
      this.worker.postMessage({ attach: id, memory });
    }
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.worker.postMessage({ memory: id, offset: target.byteOffset, length: target.length });
    });
    this.storedPosition = reply.stored;
    if (reply.error !== undefined) {
      const error = decodeFailure(new Error(reply.error), this.meta, reply.stored, reply.truncated === true, this.imagePosition + reply.n);
      error.details.driveIncomplete = true;
      throw error;
    }
    if (target !== into) target.copy(into, 0, 0, reply.n);
    return reply.n;
  }

  /** The first bytes, decoded before the reader is handed out (format check). */
  async readHead(): Promise<Buffer> {
    const head = Buffer.from(new SharedArrayBuffer(HEAD_BYTES));
    const n = await this.decodeInto(head);
    this.head = head.subarray(0, n);
    if (n < HEAD_BYTES) this.finished = true;
    return this.head;
  }

  async read(into: Buffer): Promise<number> {
    let filled = 0;
    if (this.head && this.head.length > 0) {
      filled = this.head.copy(into);
      this.head = this.head.subarray(filled);
    }
    if (filled < into.length && !this.finished) {
      try {
        const n = await this.decodeInto(into.subarray(filled));
        if (n < into.length - filled) this.finished = true;
        filled += n;
      } catch (error) {
        this.finished = true;
        throw error;
      }
    }
    this.imagePosition += filled;
    return filled;
  }

  async close(): Promise<void> {
    this.finished = true;
    await this.worker.terminate().catch(() => undefined);
  }
}

/**
 * Opens a local .zst to decode on its own thread, or undefined where that does not apply: no
 * zstd in this Node's zlib, no thread, zlib's handle not as expected, or an image inside that is
 * not raw (tar, nested compression) or not an image at all (the stream path then says why).
 */
export async function openZstdThread(filePath: string, name: string, storedSize: number, sizing: Promise<number | undefined>): Promise<SourceReader | undefined> {
  let worker: Worker;
  try {
    worker = new Worker(ZSTD_THREAD, { eval: true, workerData: { path: filePath, size: storedSize } });
  } catch {
    return undefined;
  }
  const ready = await new Promise<boolean>((resolve) => {
    worker.once('message', (m: { ready?: boolean }) => resolve(m.ready === true));
    worker.once('error', () => resolve(false));
    worker.once('exit', () => resolve(false));
  });
  if (!ready) {
    await worker.terminate().catch(() => undefined);
    return undefined;
  }
  started++;
  const reader = new ZstdThreadReader(worker, { name, path: filePath, storedSize, storedFile: filePath }, await sizing);
  try {
    const head = await reader.readHead();
    if (classifyHead(head, { name }, 'the decompressed data') === 'raw') return reader;
  } catch {
    /* the stream path reports it, in its own words */
  }
  await reader.close();
  return undefined;
}
