// The image's SHA-256, computed on a thread of its own so it overlaps with reading and writing.
// SHA-256 runs at ~1.6 GB/s on one core here, as fast as a RAM-backed drive takes data: on the
// flashing thread it would set the pace. The pool is a shared WebAssembly.Memory, so the hashing
// thread reads the very bytes being written (no copy); a chunk goes back to the pool only after
// both its writes and its hashing are done. Chunks are hashed in the order they were given.

import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

// Inline source: no extra file to locate in dist/ or inside an asar archive.
const HASH_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const memory = workerData.memory;
const hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.digest) parentPort.postMessage({ digest: hash.digest('hex') });
  else { hash.update(new Uint8Array(memory.buffer, m.offset, m.length)); parentPort.postMessage({ done: m.id }); }
});
`;

export interface ImageHasher {
  /** Adds the next bytes; resolves once they are hashed and the buffer may be reused. */
  update(data: Buffer): Promise<void>;
  digest(): Promise<string>;
  close(): Promise<void>;
}

/** Hashes on the calling thread: for buffers outside the shared pool, or where threads fail. */
class InlineHasher implements ImageHasher {
  private readonly hash: Hash = createHash('sha256');
  async update(data: Buffer): Promise<void> {
    this.hash.update(data);
  }
  async digest(): Promise<string> {
    return this.hash.digest('hex');
  }
  async close(): Promise<void> {}
}

class ThreadHasher implements ImageHasher {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private digestWaiter?: { resolve: (hex: string) => void; reject: (e: Error) => void };
  private nextId = 0;
  private failure?: Error;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.worker = new Worker(HASH_THREAD, { eval: true, workerData: { memory } });
    this.worker.on('message', (m: { done?: number; digest?: string }) => {
      if (m.digest !== undefined) this.digestWaiter?.resolve(m.digest);
      else if (m.done !== undefined) {
        this.waiting.get(m.done)?.resolve();
        this.waiting.delete(m.done);
      }
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
      this.digestWaiter?.reject(error);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the hashing thread stopped (exit code ${code})`)));
  }

  update(data: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (data.buffer !== this.memory.buffer) return Promise.reject(new Error('image bytes outside the shared pool cannot be hashed on the hashing thread'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, offset: data.byteOffset, length: data.length });
    });
  }

  digest(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.digestWaiter = { resolve, reject };
      this.worker.postMessage({ digest: true });
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the hasher was closed');
    await this.worker.terminate();
  }
}

/** A hasher for bytes that live in `memory` (the pool); hashes inline if no thread can start. */
export function createImageHasher(memory: WebAssembly.Memory): ImageHasher {
  try {
    return new ThreadHasher(memory);
  } catch {
    return new InlineHasher();
  }
}

// Reads a file range itself and hashes it at the lowest CPU priority: it takes only the cycles the
// write and the readback leave, so it never sets their pace (Linux: per-thread nice via the TID).
const FILE_HASH_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
try {
  const tid = /task\\/(\\d+)/.exec(fs.readlinkSync('/proc/thread-self'));
  if (tid) {
    os.setPriority(Number(tid[1]), 19);
    // SCHED_IDLE: runs only on a core nothing else wants (nice 19 still took a third of one).
    require('node:child_process').spawnSync('chrt', ['--idle', '-p', '0', tid[1]], { stdio: 'ignore', timeout: 2000 });
  }
} catch {}
const { path, offset, length, paused } = workerData;
const flag = new Int32Array(paused);
const hash = createHash('sha256');
const buffer = Buffer.allocUnsafe(1 << 20);
let fd;
let done = 0;
try {
  fd = fs.openSync(path, 'r');
  while (done < length) {
    while (Atomics.load(flag, 0) === 1) Atomics.wait(flag, 0, 1);
    const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, length - done), offset + done);
    if (n === 0) break;
    hash.update(n === buffer.length ? buffer : buffer.subarray(0, n));
    done += n;
  }
  if (done < length) parentPort.postMessage({ error: 'ended at byte ' + done + ' of ' + length, offset: done });
  else parentPort.postMessage({ digest: hash.digest('hex') });
} catch (e) {
  parentPort.postMessage({ error: String(e && e.message || e), offset: done });
} finally {
  if (fd !== undefined) fs.closeSync(fd);
}
`;

export interface BackgroundFileHash {
  /** The SHA-256 (hex) of the range, once read to its end (resumes a paused thread); rejects with the read's failure. */
  digest(): Promise<string>;
  /** Holds the thread between two reads of 1 MiB, until `digest` or `close`. */
  pause(): void;
  close(): Promise<void>;
}

/**
 * Starts hashing `length` bytes of `filePath` from `offset` on a low-priority thread of its own.
 * Where a thread cannot start, `undefined`: the caller hashes some other way.
 */
export function hashFileInBackground(filePath: string, offset: number, length: number): BackgroundFileHash | undefined {
  let worker: Worker;
  const paused = new SharedArrayBuffer(4);
  const flag = new Int32Array(paused);
  const resume = () => {
    Atomics.store(flag, 0, 0);
    Atomics.notify(flag, 0);
  };
  try {
    worker = new Worker(FILE_HASH_THREAD, { eval: true, workerData: { path: filePath, offset, length, paused } });
  } catch {
    return undefined;
  }
  const result = new Promise<string>((resolve, reject) => {
    worker.on('message', (m: { digest?: string; error?: string; offset?: number }) => {
      if (m.digest !== undefined) resolve(m.digest);
      else reject(Object.assign(new Error(m.error ?? 'unknown failure'), { offset: m.offset ?? 0 }));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the hashing thread stopped (exit code ${code})`)));
  });
  result.catch(() => undefined); // observed by digest(); a closed hasher's rejection is expected
  return {
    digest: () => {
      resume();
      return result;
    },
    pause: () => Atomics.store(flag, 0, 1),
    close: async () => {
      resume();
      await worker.terminate();
    },
  };
}
