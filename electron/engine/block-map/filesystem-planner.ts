// The write planner that skips what the image's own filesystems call free. Raw images are mapped
// before writing by reading only their metadata; compressed streams are mapped as they flow,
// so a region is skipped only if its allocation was known by the time it arrived.

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

/** Registered with choosePlanner: used unless the job names a .bmap to follow instead. */
export async function filesystemPlannerFor(job: FlashJob, source: SourceReader): Promise<WritePlanner | undefined> {
  if (typeof job.options.bmapPath === 'string' && job.options.bmapPath !== '') return undefined;
  const size = source.info.size;
  if (source.info.randomAccess && source.readAt && size !== undefined) {
    const planner = await FilesystemPlanner.prebuilt((into, position) => source.readAt!(into, position), size);
    // Nothing understood: let another planner (or a full write) take it.
    return planner.freeBytes > 0 ? planner : undefined;
  }
  return FilesystemPlanner.streaming(size);
}
