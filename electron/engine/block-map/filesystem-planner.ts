// The write planner that skips what the image's own filesystems call free. Raw images are mapped
// before writing by reading only their metadata; compressed streams are mapped as they flow,
// so a region is skipped only if its allocation was known by the time it arrived.

import { promises as fsp } from 'node:fs';
import type { FlashJob } from '../../../shared/flash-types';
import type { SourceReader } from '../sources/source';
import type { Range, WritePlanner } from '../write-planner';
import { FreeRanges } from './free-ranges';
import { imageLayout } from './partition-table';
import { runRandomAccess, type ScanSink } from './scan';
import { StreamScanner } from './stream-scanner';

export class FilesystemPlanner implements WritePlanner {
  private readonly free = new FreeRanges();
  private readonly recognised: string[] = [];
  private scanner: StreamScanner | undefined;

  private readonly sink: ScanSink = {
    free: (start, end) => this.free.add(start, end),
    recognise: (what) => {
      if (!this.recognised.includes(what)) this.recognised.push(what);
    },
  };

  get name(): string {
    return `filesystem allocation (${this.recognised.join('+') || 'nothing recognised'})`;
  }

  /** Filesystems and tables found so far, e.g. ["gpt", "fat32", "ext4"]. */
  get found(): readonly string[] {
    return this.recognised;
  }

  /** Bytes proved free and not yet streamed past (all of them, for a prebuilt map). */
  get freeBytes(): number {
    return this.free.bytes;
  }

  /** Maps a random-access image completely before anything is written. */
  static async prebuilt(readAt: (into: Buffer, position: number) => Promise<number>, size: number): Promise<FilesystemPlanner> {
    const planner = new FilesystemPlanner();
    await runRandomAccess(imageLayout, readAt, size, planner.sink);
    return planner;
  }

  /** Maps a stream while it is written; `size` is the image size when known in advance. */
  static streaming(size: number | undefined): FilesystemPlanner {
    const planner = new FilesystemPlanner();
    planner.scanner = new StreamScanner(imageLayout, size, planner.sink);
    return planner;
  }

  observe(offset: number, data: Buffer): void {
    this.scanner?.observe(offset, data);
  }

  rangesToWrite(start: number, end: number): Range[] {
    const ranges = this.free.complement(start, end);
    // Chunks come in order: what lies behind this one will never be asked about again.
    if (this.scanner) this.free.dropBefore(end);
    return ranges;
  }

  finish(): void {
    this.scanner?.finish();
  }
}

/** Whether an image file (new or existing) is among the targets. */
async function hasFileTarget(job: FlashJob): Promise<boolean> {
  for (const target of job.targets) {
    if (target.createFile) return true;
    if (await fsp.stat(target.path).then((s) => s.isFile(), () => false)) return true;
  }
  return false;
}

const ZERO_BLOCK = Buffer.alloc(4096);

/**
 * For jobs that write an image file: a free range is skipped only where the image holds zeros
 * there, which the file's hole reads as. The file must end up the image byte for byte (its SHA-256
 * is compared with the published one); a free block that held a deleted file's bytes was left a
 * hole of zeros, though the flash said "written and verified".
 */
export class ZeroHolesOnly implements WritePlanner {
  private chunk: { offset: number; data: Buffer } | undefined;

  constructor(private readonly inner: FilesystemPlanner) {}

  get name(): string {
    return this.inner.name;
  }

  /** At most this much is skipped (flash.ts tells a dense write by it). */
  get freeBytes(): number {
    return this.inner.freeBytes;
  }

  observe(offset: number, data: Buffer): void {
    this.chunk = { offset, data };
    this.inner.observe(offset, data);
  }

  rangesToWrite(start: number, end: number): Range[] {
    const ranges = this.inner.rangesToWrite(start, end);
    const chunk = this.chunk;
    if (!chunk || chunk.offset > start || chunk.offset + chunk.data.length < end) return [{ start, end }];
    const out: Range[] = [];
    const add = (a: number, b: number): void => {
      const last = out[out.length - 1];
      if (last && last.end >= a) last.end = Math.max(last.end, b);
      else out.push({ start: a, end: b });
    };
    let cursor = start;
    for (const range of [...ranges, { start: end, end }]) {
      // The free gap [cursor, range.start): its non-zero 4 KiB blocks are written after all.
      for (let at = cursor; at < range.start; ) {
        const next = Math.min(range.start, (Math.floor(at / 4096) + 1) * 4096);
        const bytes = chunk.data.subarray(at - chunk.offset, next - chunk.offset);
        if (!bytes.equals(ZERO_BLOCK.subarray(0, bytes.length))) add(at, next);
        at = next;
      }
      if (range.end > range.start) add(range.start, range.end);
      cursor = Math.max(cursor, range.end);
    }
    return out;
  }

  finish(): void {
    this.inner.finish();
  }
}

/** Registered with choosePlanner: used unless the job names a .bmap to follow instead. */
export async function filesystemPlannerFor(job: FlashJob, source: SourceReader): Promise<WritePlanner | undefined> {
  if (typeof job.options.bmapPath === 'string' && job.options.bmapPath !== '') return undefined;
  const planner = await plannerFor(source);
  return planner && (await hasFileTarget(job)) ? new ZeroHolesOnly(planner) : planner;
}

async function plannerFor(source: SourceReader): Promise<FilesystemPlanner | undefined> {
  const size = source.info.size;
  if (source.info.randomAccess && source.readAt && size !== undefined) {
    const planner = await FilesystemPlanner.prebuilt((into, position) => source.readAt!(into, position), size);
    // Nothing understood: let another planner (or a full write) take it.
    return planner.freeBytes > 0 ? planner : undefined;
  }
  return FilesystemPlanner.streaming(size);
}
