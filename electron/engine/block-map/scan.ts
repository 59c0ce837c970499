// How layout parsers read the image: each parser is a generator that yields "I need these bytes"
// and receives them (or `undefined` when they cannot be had). The same parser code then runs on a
// raw file by random access before writing, and on a decompressed stream as it flows past, where a
// request for bytes that already went by is answered `undefined` and the parser frees nothing
// more. Parsers only ever free ranges; whatever they never free is written.

import type { Range } from '../write-planner';

export interface ReadRequest {
  /** Absolute byte offset in the image. */
  offset: number;
  length: number;
}

export type Scan = Generator<ReadRequest, void, Buffer | undefined>;

export interface ScanContext {
  /** Image bytes this parser may speak for; frees outside it are clipped away. */
  readonly bounds: Range;
  /** Size of the whole image, when known before reading it all. */
  readonly imageSize: number | undefined;
  /** Records that the image bytes [start, end) are unused and need not be written. */
  free(start: number, end: number): void;
  /** Starts a parser for a region inside this one (a partition's filesystem). */
  spawn(bounds: Range, scan: (context: ScanContext) => Scan): void;
  /** What was recognised, for the planner's name ("gpt", "ext4", "vfat"). */
  recognise(what: string): void;
}

/** Larger requests are refused (answered undefined) so a corrupt table cannot exhaust memory. */
export const MAX_REQUEST = 16 * 1024 * 1024;

export interface ScanSink {
  free(start: number, end: number): void;
  recognise(what: string): void;
}

export type ScanStarter = (bounds: Range, scan: (context: ScanContext) => Scan) => void;

export function makeContext(bounds: Range, imageSize: number | undefined, sink: ScanSink, start: ScanStarter): ScanContext {
  return {
    bounds,
    imageSize,
    free(s, e) {
      const lo = Math.max(s, bounds.start);
      const hi = Math.min(e, bounds.end, imageSize ?? Infinity);
      if (hi > lo) sink.free(lo, hi);
    },
    spawn(child, scan) {
      // A child never speaks for bytes outside its parent.
      const clipped = { start: Math.max(child.start, bounds.start), end: Math.min(child.end, bounds.end) };
      if (clipped.end > clipped.start) start(clipped, scan);
    },
    recognise(what) {
      sink.recognise(what);
    },
  };
}

/** Advances a scan with `value`; returns its next request, or undefined once it is finished or broke. */
export function step(scan: Scan, value: Buffer | undefined): ReadRequest | undefined {
  try {
    const result = scan.next(value);
    return result.done ? undefined : result.value;
  } catch {
    // A parser that throws on odd input has freed only what it had already proved; stop it there.
    return undefined;
  }
}

/** Drives scans with random access reads (raw image files): the whole map exists before writing. */
export async function runRandomAccess(
  root: (context: ScanContext) => Scan,
  readAt: (into: Buffer, position: number) => Promise<number>,
  imageSize: number,
  sink: ScanSink,
): Promise<void> {
  const queue: Array<{ scan: Scan }> = [];
  const starter: ScanStarter = (bounds, make) => queue.push({ scan: make(makeContext(bounds, imageSize, sink, starter)) });
  starter({ start: 0, end: imageSize }, root);
  while (queue.length > 0) {
    const { scan } = queue.shift()!;
    let request = step(scan, undefined);
    while (request) {
      let answer: Buffer | undefined;
      const { offset, length } = request;
      if (offset >= 0 && length >= 0 && length <= MAX_REQUEST && offset + length <= imageSize) {
        const buffer = Buffer.alloc(length);
        if ((await readAt(buffer, offset)) === length) answer = buffer;
      }
      request = step(scan, answer);
    }
  }
}
