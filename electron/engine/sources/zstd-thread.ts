// A local .zst decoded on a thread of its own, straight into the writer's buffers: the thread
// runs libzstd over the file and lets it write its output directly into the pool's shared
// memory: no pipe, no copy, and the flashing thread only queues writes. Measured on a 1 GiB ext4
// image (.img.zst, 244 MB) to a RAM-backed loop device, Node 22.23: 0.79–0.93 s against
// 0.93–1.11 s for `zstd -dc | dd` (the stream path before it, zlib's decoder handing each MiB back
// to the flashing thread: 1.13 s).
//
// Two ways to libzstd, the same loop around either: Node's own zlib (22.15+, and so Electron), or
// where that has no zstd (Node 20, 22.0–22.14) the zstd-napi addon (N-API, so one build serves
// every Node; an optional dependency, built from source at install). With neither, the file goes
// the stream way (the zstd tool in a child, or fzstd).
//
// Driven directly, libzstd goes on from frame to frame by itself; what it cannot tell is input
// that ends inside a frame, so the thread walks the block headers just ahead of the decoder and
// reports a cut (after decoding what is there) or data that is not a frame at all.
//
// zlib's decoder is driven through the handle under its stream (`_handle.writeSync`, the call
// zlib's own synchronous API makes). That is not public API: the thread checks it is there first,
// and where it is not (or no thread starts, or the image inside is a tar), the file goes the
// stream way instead (openZstdFile).

import { closeSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { decodeFailure, classifyHead, type StreamMeta } from './decoded-source';
import type { SourceInfo, SourceReader } from './source';

// Inline sources: no extra file to locate in dist/ or inside an asar archive.

/**
 * The decoders, as source: the thread runs them, and so does this thread for an image's first
 * 64 KiB (decoderHere), so both decode with the same code.
 */
const ZSTD_DECODERS = `
const zlib = require('node:zlib');
const windowLogMax = zlib.constants.ZSTD_d_windowLogMax;
// Images made with --long=31 need a 2 GiB window; libzstd refuses more than 128 MiB by default.
const options = windowLogMax === undefined ? {} : { params: { [windowLogMax]: 31 } };

/**
 * A decoder: decode(input, inOff, inLen, out, outOff, room) gives [input bytes used, output bytes
 * made] and throws on bad data; close() frees it. Undefined where this engine is not there.
 */
function newDecoder(engine) {
  return engine.napi === undefined ? zlibDecoder() : napiDecoder(engine.napi);
}

function zlibDecoder() {
  if (typeof zlib.createZstdDecompress !== 'function') return undefined;
  const stream = zlib.createZstdDecompress(options);
  const handle = stream._handle;
  const state = stream._writeState;
  if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array)) return undefined;
  let error;
  handle.onerror = (message) => { error = message; };
  return {
    decode(input, inOff, inLen, out, outOff, room) {
      handle.writeSync(0, input, inOff, inLen, out, outOff, room);
      if (error !== undefined) throw new Error(error);
      return [inLen - state[1], room - state[0]];
    },
    close() { handle.close(); },
  };
}

function napiDecoder(bindingPath) {
  let binding;
  try {
    binding = require(bindingPath);
  } catch {
    return undefined; // not built: the stream way
  }
  if (typeof binding.DCtx !== 'function') return undefined;
  const context = new binding.DCtx();
  context.setParameter(binding.DParameter.windowLogMax, 31);
  return {
    decode(input, inOff, inLen, out, outOff, room) {
      const [, made, used] = context.decompressStream(out.subarray(outOff, outOff + room), input.subarray(inOff, inOff + inLen));
      return [used, made];
    },
    close() {},
  };
}
`;

const ZSTD_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { path: filePath, size: fileSize, engine, skip } = workerData;
const FRAME_MAGIC = 0xfd2fb528;
const READ = 1 << 20;
${ZSTD_DECODERS}

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

// The file's structure, walked block header by block header just ahead of the decoder (libzstd
// itself carries on from frame to frame and over skippable frames, but cannot say that the input
// ended inside a frame): what the walk finds wrong is reported once the decoder has used the
// bytes before it.
const walk = { pos: 0, inFrame: false, hasChecksum: false, verdict: undefined };

function walkStep() {
  const pos = walk.pos;
  if (!walk.inFrame) {
    const m = at(pos, 4);
    if (!m) return (walk.verdict = endedEarly());
    const magic = m.readUInt32LE(0);
    if (((magic & 0xfffffff0) >>> 0) === 0x184d2a50) {
      const s = at(pos + 4, 4);
      if (!s) return (walk.verdict = endedEarly());
      walk.pos = pos + 8 + s.readUInt32LE(0);
      return;
    }
    if (magic !== FRAME_MAGIC) return (walk.verdict = new Failure('corrupt zstd data: no frame starts at byte ' + pos, false));
    const h = at(pos + 4, 1);
    if (!h) return (walk.verdict = endedEarly());
    const d = h[0];
    const single = (d >> 5) & 1;
    walk.pos = pos + 5 + (single ? 0 : 1) + [0, 1, 2, 4][d & 3] + [single, 2, 4, 8][d >> 6];
    walk.hasChecksum = ((d >> 2) & 1) === 1;
    walk.inFrame = true;
    return;
  }
  const b = at(pos, 3);
  if (!b) return (walk.verdict = endedEarly());
  const header = b[0] | (b[1] << 8) | (b[2] << 16);
  const type = (header >> 1) & 3;
  if (type === 3) return (walk.verdict = new Failure('corrupt zstd data: reserved block type at byte ' + pos, false));
  walk.pos = pos + 3 + (type === 1 ? 1 : header >>> 3);
  if (header & 1) {
    if (walk.hasChecksum) walk.pos += 4;
    walk.inFrame = false;
  }
}

/** Walks every header that starts before limit (the whole file: Infinity), and checks the end. */
function walkTo(limit) {
  while (walk.verdict === undefined && walk.pos < limit && walk.pos < fileSize) walkStep();
  if (walk.verdict === undefined && walk.pos >= fileSize && (walk.pos > fileSize || walk.inFrame)) walk.verdict = endedEarly();
}

/** Decodes the file; yields when the output it was given is full, and is given the next. */
function* decodeFile() {
  // The image's first bytes were decoded on the flashing thread already: decoded again, not handed on.
  let out = skip > 0 ? { view: Buffer.allocUnsafe(skip), offset: 0, length: skip, filled: 0 } : yield;
  const decoder = newDecoder(engine);
  let next = 0;
  let inOff = 0;
  let inLen = 0;
  for (;;) {
    if (inLen === 0 && next < fileSize) {
      inLen = fs.readSync(fd, input, 0, Math.min(READ, fileSize - next), next);
      if (inLen === 0) throw endedEarly(); // the file shrank under us
      inOff = 0;
      next += inLen;
      walkTo(next);
    }
    const room = out.length - out.filled;
    let used;
    let made;
    try {
      [used, made] = decoder.decode(input, inOff, inLen, out.view, out.offset + out.filled, room);
    } catch (e) {
      // The walk may know better what is wrong (data that is no frame, a reserved block type).
      throw walk.verdict && !walk.verdict.truncated ? walk.verdict : new Failure(String((e && e.message) || e), false);
    }
    inOff += used;
    inLen -= used;
    stored += used;
    out.filled += made;
    if (out.filled === out.length) out = yield;
    // All input is in and the output has room left: the decoder has given all it had.
    else if (inLen === 0 && next >= fileSize) break;
  }
  decoder.close();
  walkTo(Infinity);
  if (walk.verdict) throw walk.verdict;
}

const memories = new Map();
let decoding;
const probe = newDecoder(engine);
if (probe) probe.close();
parentPort.postMessage({ ready: probe !== undefined });
parentPort.on('message', (m) => {
  if (m.attach !== undefined) {
    memories.set(m.attach, Buffer.from(m.memory));
    return;
  }
  const view = typeof m.memory === 'number' ? memories.get(m.memory) : Buffer.from(m.memory);
  const out = { view, offset: m.offset, length: m.length, filled: 0 };
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

/** The libzstd the thread drives: Node's zlib, or the zstd-napi addon at this path. */
export interface ZstdEngine {
  napi?: string;
}

let napiPath: string | null | undefined;

/** Where the zstd-napi addon's binding is, or undefined where it is not installed. */
export function zstdNapiPath(): string | undefined {
  if (napiPath === undefined) {
    try {
      napiPath = require.resolve('zstd-napi/binding');
    } catch {
      napiPath = null;
    }
  }
  return napiPath ?? undefined;
}

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
/**
 * Bytes decoded on the flashing thread before the decoding thread is started: the drive's first
 * write (the pipeline's first read is 512 KiB) need not wait for that thread, which takes 30–50 ms
 * to start here. Decoding them takes ~1 ms.
 */
const FIRST_HERE = 512 * 1024;

/** The decoding thread, started on the first read that needs it; `ready` says whether it can decode. */
interface Thread {
  /** Absent where no thread could be created (`ready` is then false). */
  worker?: Worker;
  ready: Promise<boolean>;
}

let threads = 0;

/** How many decoding threads this process has started (a test checks when one is). */
export function zstdThreadsStarted(): number {
  return threads;
}

function startThread(threadSource: string, filePath: string, storedSize: number, engine: ZstdEngine, skip: number): Thread | undefined {
  let worker: Worker;
  try {
    worker = new Worker(threadSource, { eval: true, workerData: { path: filePath, size: storedSize, engine, skip } });
  } catch {
    return undefined;
  }
  threads++;
  const ready = new Promise<boolean>((resolve) => {
    worker.once('message', (m: { ready?: boolean }) => resolve(m.ready === true));
    worker.once('error', () => resolve(false));
    worker.once('exit', () => resolve(false));
  });
  return { worker, ready };
}

class ZstdThreadReader implements SourceReader {
  readonly info: SourceInfo;
  readonly storedFile: { path: string; size: number };
  storedPosition = 0;
  private imagePosition = 0;
  private head: Buffer | undefined;
  private finished = false;
  private failure: Error | undefined;
  /** Two reads outstanding: the thread has the next buffer before it fills the last. */
  readonly concurrentReads = 2;
  /** Requests posted to the thread, answered in order. */
  private readonly waiting: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];
  private readonly attached = new Map<SharedArrayBuffer, number>();
  private thread: Thread | undefined;

  constructor(
    private readonly meta: StreamMeta & { path: string; storedSize: number },
    size: number | undefined,
    private readonly start: () => Thread | undefined,
    /**
     * Where the image's head was decoded on this thread and the reader handed out on its strength:
     * those bytes (handed on first; the thread skips them), what they took of the file, and where
     * the image is read instead if the thread does not start (the stream way).
     */
    private readonly early?: { head: Buffer; stored: number; otherwise: () => Promise<SourceReader> },
  ) {
    this.info = { name: meta.name, formats: ['zstd'], storedSize: meta.storedSize, randomAccess: false };
    if (size !== undefined) this.info.size = size;
    this.storedFile = { path: meta.path, size: meta.storedSize };
    if (early) this.head = early.head;
  }

  /** The thread, started now if it was not. */
  private threadNow(): Thread {
    if (this.thread) return this.thread;
    const thread: Thread = this.start() ?? { ready: Promise.resolve(false) };
    const stop = (error: Error) => {
      this.failure ??= error;
      for (const w of this.waiting.splice(0)) w.reject(error);
    };
    if (thread.worker) {
      thread.worker.on('message', (m: Reply | { ready: boolean }) => {
        if ('ready' in m) return;
        this.waiting.shift()?.resolve(m);
      });
      thread.worker.on('error', stop);
      thread.worker.on('exit', (code) => stop(new Error(`the decoding thread stopped (exit code ${code})`)));
    }
    this.thread = thread;
    return thread;
  }

  /** Has the thread decode into `into`: the pool's shared memory directly, other memory through a copy. */
  async decodeInto(into: Buffer): Promise<number> {
    if (this.failure) throw this.failure;
    const { worker } = this.threadNow();
    if (!worker) throw new Error('the decoding thread could not be started');
    const shared = into.buffer instanceof SharedArrayBuffer;
    // Plain memory (not the pool's): decoded into a shared buffer of its own, then copied.
    const target = shared ? into : Buffer.from(new SharedArrayBuffer(into.length));
    const memory = target.buffer as SharedArrayBuffer;
    let id = this.attached.get(memory);
    if (shared && id === undefined) {
      id = this.attached.size;
      this.attached.set(memory, id);
      worker.postMessage({ attach: id, memory });
    }
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      worker.postMessage({ memory: id ?? memory, offset: target.byteOffset, length: target.length });
    });
    this.storedPosition = reply.stored;
    if (reply.error !== undefined) {
      throw decodeFailure(new Error(reply.error), this.meta, reply.stored, reply.truncated === true, this.imagePosition + reply.n);
    }
    if (target !== into) target.copy(into, 0, 0, reply.n);
    this.imagePosition += reply.n;
    return reply.n;
  }

  /** The first bytes, decoded by the thread before the reader is handed out (format check). */
  async readHead(): Promise<Buffer> {
    const head = Buffer.from(new SharedArrayBuffer(HEAD_BYTES));
    const n = await this.decodeInto(head);
    this.imagePosition = 0; // handed out by read(), counted there
    this.head = head.subarray(0, n);
    if (n < HEAD_BYTES) this.finished = true;
    return this.head;
  }

  private fallback: Promise<SourceReader> | undefined;
  private fallbackReads: Promise<unknown> = Promise.resolve();

  /** Reads may overlap (concurrentReads): each takes its place in line before its first await. */
  async read(into: Buffer): Promise<number> {
    let filled = 0;
    if (this.head && this.head.length > 0) {
      filled = this.head.copy(into);
      this.head = this.head.subarray(filled);
      this.imagePosition += filled;
      if (this.early && this.storedPosition < this.early.stored) this.storedPosition = this.early.stored;
    }
    if (filled === into.length || this.finished) return filled;
    const rest = into.subarray(filled);
    if (this.early && !(await this.threadNow().ready)) return filled + (await this.readOtherwise(rest));
    try {
      const n = await this.decodeInto(rest);
      if (n < rest.length) this.finished = true;
      return filled + n;
    } catch (error) {
      this.finished = true;
      throw error;
    }
  }

  /**
   * The thread did not start: the stream way reads the image from its start, past the head handed
   * on already, one read after the other, in the order asked.
   */
  private readOtherwise(into: Buffer): Promise<number> {
    const early = this.early!;
    this.fallback ??= early.otherwise().then(async (reader) => {
      const scratch = Buffer.alloc(early.head.length);
      for (let skipped = 0; skipped < early.head.length; ) {
        const n = await reader.read(scratch.subarray(0, early.head.length - skipped));
        if (n === 0) break;
        skipped += n;
      }
      return reader;
    });
    const fallback = this.fallback;
    const read = this.fallbackReads.then(async () => {
      const reader = await fallback;
      const n = await reader.read(into);
      this.storedPosition = reader.storedPosition;
      this.imagePosition += n;
      return n;
    });
    this.fallbackReads = read.catch(() => undefined);
    return read;
  }

  async close(): Promise<void> {
    this.finished = true;
    await this.thread?.worker?.terminate().catch(() => undefined);
    await this.fallback?.then((reader) => reader.close()).catch(() => undefined);
  }
}

/**
 * Opens a local .zst to decode on its own thread, or undefined where that does not apply: the
 * engine not there (zlib without zstd, the addon not built), no thread, zlib's handle not as expected, or an image inside that is
 * not raw (tar, nested compression) or not an image at all (the stream path then says why).
 */
export async function openZstdThread(
  filePath: string,
  name: string,
  storedSize: number,
  sizing: Promise<number | undefined>,
  engine: ZstdEngine,
  otherwise: () => Promise<SourceReader>,
  threadSource = ZSTD_THREAD,
): Promise<SourceReader | undefined> {
  // The image is known good only once its first bytes are seen: they are decoded here, by the
  // thread's own decoder, and the thread is started only when the flash reads past them. Started
  // at once, its 30–50 ms of start-up took a core from the drives' checks and the size walk, and
  // the drive's first write (which starts a throttled card's clock) came ~10 ms later.
  let decoded: { head: Buffer; stored: number } | undefined;
  try {
    decoded = decodeHeadHere(filePath, engine, FIRST_HERE);
  } catch {
    /* the file could not be read here: the thread says why */
  }
  // A tar inside, or no image at all, goes the stream way, which says what it is in its own words.
  const rawImage = (head: Buffer): boolean => {
    try {
      return classifyHead(head.subarray(0, HEAD_BYTES), { name }, 'the decompressed data') === 'raw';
    } catch {
      return false;
    }
  };
  const meta = { name, path: filePath, storedSize, storedFile: filePath };
  // Only a whole first piece counts: a shorter one (a small image, bad data, a file whose first
  // MiBs decode to less) is left to the thread, which reads on and says what is wrong.
  if (decoded?.head.length === FIRST_HERE) {
    if (!rawImage(decoded.head)) return undefined;
    const skip = decoded.head.length;
    const reader = new ZstdThreadReader(meta, await sizing, () => startThread(threadSource, filePath, storedSize, engine, skip), { ...decoded, otherwise });
    started++;
    return reader;
  }
  const thread = startThread(threadSource, filePath, storedSize, engine, 0);
  if (!thread || !(await thread.ready)) {
    await thread?.worker?.terminate().catch(() => undefined);
    return undefined;
  }
  started++;
  const reader = new ZstdThreadReader(meta, await sizing, () => thread);
  const head = await reader.readHead().catch(() => undefined);
  if (head && rawImage(head)) return reader;
  await reader.close();
  return undefined;
}

/** A decoder built from ZSTD_DECODERS (see there). */
interface Decoder {
  decode(input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, room: number): [number, number];
  close(): void;
}

let decodersHere: ((engine: ZstdEngine) => Decoder | undefined) | undefined;

/** The thread's own decoders, run on this thread. */
function decoderHere(engine: ZstdEngine): Decoder | undefined {
  // Our own source (shared with the thread), not input: compiled once.
  decodersHere ??= new Function('require', `${ZSTD_DECODERS}\nreturn newDecoder;`)(require) as (engine: ZstdEngine) => Decoder | undefined;
  return decodersHere(engine);
}

/**
 * The image's first `want` bytes (fewer where the file's first MiBs give fewer), decoded on this
 * thread by the decoder the thread uses, and the file's bytes they took; undefined where it cannot
 * be driven here or the data is bad (the thread then says what is wrong).
 */
function decodeHeadHere(filePath: string, engine: ZstdEngine, want: number): { head: Buffer; stored: number } | undefined {
  const decoder = decoderHere(engine);
  if (!decoder) return undefined;
  const input = Buffer.alloc(1 << 20);
  const out = Buffer.alloc(want);
  let made = 0;
  let stored = 0;
  let fd: number | undefined;
  try {
    fd = openSync(filePath, 'r');
    // At most 4 MiB of the file: an image's start that compresses worse than that is left to the thread.
    for (let reads = 0; made < out.length && reads < 4; reads++) {
      const inLen = readSync(fd, input, 0, input.length, stored);
      if (inLen === 0) break;
      let used = 0;
      while (made < out.length && used < inLen) {
        const [u, m] = decoder.decode(input, used, inLen - used, out, made, out.length - made);
        if (u === 0 && m === 0) break;
        used += u;
        made += m;
      }
      stored += used;
      if (used < inLen && made < out.length) break; // the decoder took no more: nothing more to make here
    }
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
    decoder.close();
  }
  return { head: out.subarray(0, made), stored };
}
