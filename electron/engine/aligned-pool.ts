// Page-aligned buffers for O_DIRECT I/O without a native module.
// Node's Buffer memory is not aligned to the device's logical block size, so O_DIRECT writes from it
// fail with EINVAL (measured on Node 20). A WebAssembly.Memory's backing store is mmap'd and therefore
// page-aligned; slices of it at multiples of 4096 satisfy both 512-byte and 4Kn devices. `shared: true`
// lets other worker threads read the same bytes without copying.

const WASM_PAGE = 65536;
export const ALIGNMENT = 4096;

export class AlignedPool {
  readonly chunkSize: number;
  readonly count: number;
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(buffer: Buffer) => void> = [];
  readonly memory: WebAssembly.Memory;

  constructor(chunkSize: number, count: number) {
    if (chunkSize % ALIGNMENT !== 0) throw new RangeError(`chunk size ${chunkSize} is not a multiple of ${ALIGNMENT}`);
    this.chunkSize = chunkSize;
    this.count = count;
    const pages = Math.ceil((chunkSize * count) / WASM_PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    for (let i = 0; i < count; i++) {
      this.free.push(Buffer.from(this.memory.buffer, i * chunkSize, chunkSize));
    }
  }

  /** Resolves with a free chunk; waits while all are in use, which is what bounds memory. */
  acquire(): Promise<Buffer> {
    const buffer = this.free.pop();
    if (buffer) return Promise.resolve(buffer);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  tryAcquire(): Buffer | undefined {
    return this.free.pop();
  }

  release(buffer: Buffer): void {
    // Always hand back the whole chunk, even if the caller passed a subarray of it.
    const whole = Buffer.from(buffer.buffer, buffer.byteOffset - (buffer.byteOffset % this.chunkSize), this.chunkSize);
    const waiter = this.waiters.shift();
    if (waiter) waiter(whole);
    else this.free.push(whole);
  }

  get available(): number {
    return this.free.length;
  }
}

/** One aligned buffer of its own, for small special-purpose I/O (the held-back head, tails). */
export function alignedBuffer(size: number): Buffer {
  const rounded = Math.ceil(size / ALIGNMENT) * ALIGNMENT;
  const pages = Math.max(1, Math.ceil(rounded / WASM_PAGE));
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  return Buffer.from(memory.buffer, 0, rounded);
}

export function alignDown(value: number, alignment: number): number {
  return value - (value % alignment);
}

export function alignUp(value: number, alignment: number): number {
  const rest = value % alignment;
  return rest === 0 ? value : value + alignment - rest;
}
