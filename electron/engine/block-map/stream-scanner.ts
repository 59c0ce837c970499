// Drives layout parsers over the image as it streams past, chunk by chunk, in order. A request is
// served from the chunks that cover it; one whose bytes already went by is answered `undefined`.
// Everything happens synchronously inside `observe`, so by the time the pipeline asks which parts
// of a chunk to write, every parser has seen that chunk (and freed what it could).

import type { Range } from '../write-planner';
import { makeContext, MAX_REQUEST, step, type ReadRequest, type Scan, type ScanContext, type ScanSink, type ScanStarter } from './scan';

interface Waiter {
  scan: Scan;
  request: ReadRequest | undefined;
  buffer: Buffer | undefined;
  filled: number;
}

export class StreamScanner {
  private waiters: Waiter[] = [];
  private readonly starter: ScanStarter;

  constructor(root: (context: ScanContext) => Scan, imageSize: number | undefined, sink: ScanSink) {
    this.starter = (bounds: Range, make) => {
      const scan = make(makeContext(bounds, imageSize, sink, this.starter));
      this.waiters.push({ scan, request: step(scan, undefined), buffer: undefined, filled: 0 });
    };
    this.starter({ start: 0, end: imageSize ?? Infinity }, root);
  }

  /** True while some parser still waits for bytes. */
  get active(): boolean {
    return this.waiters.some((w) => w.request !== undefined);
  }

  observe(start: number, data: Buffer): void {
    const end = start + data.length;
    // Parsers spawned while serving this chunk are appended and served in the same pass.
    for (let i = 0; i < this.waiters.length; i++) this.serve(this.waiters[i]!, start, end, data);
    this.waiters = this.waiters.filter((w) => w.request !== undefined);
  }

  private serve(w: Waiter, start: number, end: number, data: Buffer): void {
    for (;;) {
      const request = w.request;
      if (!request) return;
      if (!(request.length >= 0 && request.length <= MAX_REQUEST && request.offset >= 0)) {
        this.answer(w, undefined);
        continue;
      }
      const next = request.offset + w.filled;
      if (request.length === 0) {
        this.answer(w, Buffer.alloc(0));
        continue;
      }
      if (next < start) {
        this.answer(w, undefined); // went by before anyone asked
        continue;
      }
      if (next >= end) return; // not here yet
      w.buffer ??= Buffer.alloc(request.length);
      const take = Math.min(request.offset + request.length, end) - next;
      data.copy(w.buffer, w.filled, next - start, next - start + take);
      w.filled += take;
      if (w.filled < request.length) return; // the rest comes with the next chunk
      this.answer(w, w.buffer);
    }
  }

  private answer(w: Waiter, value: Buffer | undefined): void {
    w.buffer = undefined;
    w.filled = 0;
    w.request = step(w.scan, value);
  }

  /** The image ended: parsers still waiting get nothing, and stop. */
  finish(): void {
    for (const w of this.waiters) {
      try {
        w.scan.return(undefined);
      } catch {
        /* a parser's cleanup failing changes nothing: it freed only what it proved */
      }
    }
    this.waiters = [];
  }
}
