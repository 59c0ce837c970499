// Writes only what a .bmap maps, and checks each range's checksum as the image streams past.
// A range whose bytes do not match stops the flash right there (before the partition table is
// written), so a wrong or damaged image never ends up looking bootable.

import { createHash, type Hash } from 'node:crypto';
import { BlockwiseError } from '../../../shared/errors';
import type { Range, WritePlanner } from '../write-planner';
import type { Bmap } from './bmap-file';

export class BmapPlanner implements WritePlanner {
  readonly name = 'bmap';
  /** First range whose checksum is not yet settled. */
  private hashIndex = 0;
  private hash: Hash | undefined;
  /** First range that may still overlap the chunks the pipeline asks about. */
  private writeIndex = 0;
  private seen = 0;
  private failure: BlockwiseError | undefined;

  constructor(
    readonly bmap: Bmap,
    private readonly imageName: string,
    /** Said after a failure about the drive's start (held back by a flash); '' where nothing is written. */
    private readonly driveNote = ' The partition table was not written.',
  ) {}

  observe(offset: number, data: Buffer): void {
    const end = offset + data.length;
    this.seen = end;
    if (this.failure) return;
    if (end > this.bmap.imageSize) {
      this.failure = new BlockwiseError(
        'BMAP_INVALID',
        `${this.imageName} is longer than the ${this.bmap.imageSize} bytes its block map ${this.bmap.path} describes: the map belongs to another image.`,
        { path: this.bmap.path, offset: this.bmap.imageSize },
      );
      return;
    }
    const { ranges } = this.bmap;
    while (this.hashIndex < ranges.length) {
      const r = ranges[this.hashIndex]!;
      if (r.start >= end) break;
      if (r.checksum) {
        this.hash ??= createHash(this.bmap.checksumType ?? 'sha1');
        this.hash.update(data.subarray(Math.max(r.start, offset) - offset, Math.min(r.end, end) - offset));
      }
      if (r.end > end) break;
      if (r.checksum && this.hash) {
        const actual = this.hash.digest('hex');
        this.hash = undefined;
        if (actual !== r.checksum) {
          this.failure = new BlockwiseError(
            'CHECKSUM_MISMATCH',
            `${this.imageName} does not match its block map ${this.bmap.path}: blocks ${r.firstBlock}-${r.lastBlock} ` +
              `(bytes ${r.start}–${r.end}) have ${this.bmap.checksumType} ${actual}, not ${r.checksum}.${this.driveNote}`,
            { path: this.bmap.path, offset: r.start },
          );
          return;
        }
      }
      this.hashIndex++;
    }
  }

  rangesToWrite(start: number, end: number): Range[] {
    if (this.failure) throw this.failure;
    const { ranges } = this.bmap;
    while (this.writeIndex < ranges.length && ranges[this.writeIndex]!.end <= start) this.writeIndex++;
    const out: Range[] = [];
    for (let i = this.writeIndex; i < ranges.length; i++) {
      const r = ranges[i]!;
      if (r.start >= end) break;
      out.push({ start: Math.max(r.start, start), end: Math.min(r.end, end) });
    }
    return out;
  }

  finish(): void {
    if (this.failure) throw this.failure;
    if (this.seen !== this.bmap.imageSize) {
      throw new BlockwiseError(
        'BMAP_INVALID',
        `${this.imageName} is ${this.seen} bytes, but its block map ${this.bmap.path} describes an image of ${this.bmap.imageSize} bytes: the map belongs to another image.${this.driveNote}`,
        { path: this.bmap.path, offset: this.seen },
      );
    }
  }
}
