// The seam between the pipeline and block maps: which parts of each chunk must reach the drive.
// A planner never says "skip" unless a filesystem (or a .bmap) proved the range unused; anything it
// has not understood yet is written.

export interface Range {
  /** Byte offset in the image. */
  start: number;
  /** Exclusive end. */
  end: number;
}

export interface WritePlanner {
  /** Short description for logs and results, e.g. "ext4+vfat allocation" or "bmap". */
  readonly name: string;
  /** Sees every chunk of the image in order before the pipeline asks about it. */
  observe(offset: number, data: Buffer): void;
  /** Sorted, non-overlapping sub-ranges of [start, end) that must be written. */
  rangesToWrite(start: number, end: number): Range[];
  /** Called once the whole image has streamed past; may throw (e.g. a .bmap checksum failed). */
  finish?(): void;
}

/** Writes everything: used for --full and for images whose layout nobody understood. */
export const writeEverything: WritePlanner = {
  name: 'full',
  observe() {},
  rangesToWrite(start, end) {
    return [{ start, end }];
  },
};

/** Rounds ranges outward to `alignment` within [lo, hi], and merges those that touch. */
export function alignRanges(ranges: Range[], alignment: number, lo: number, hi: number): Range[] {
  const out: Range[] = [];
  for (const range of ranges) {
    const start = Math.max(lo, range.start - (range.start % alignment));
    const rest = range.end % alignment;
    const end = Math.min(hi, rest === 0 ? range.end : range.end + alignment - rest);
    if (end <= start) continue;
    const last = out[out.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else out.push({ start, end });
  }
  return out;
}

export function clipRanges(ranges: Range[], lo: number, hi: number): Range[] {
  const out: Range[] = [];
  for (const r of ranges) {
    const start = Math.max(lo, r.start);
    const end = Math.min(hi, r.end);
    if (end > start) out.push({ start, end });
  }
  return out;
}

export function rangesLength(ranges: Range[]): number {
  return ranges.reduce((sum, r) => sum + (r.end - r.start), 0);
}

/** The sorted union of two sets of ranges, merged where they overlap or touch. */
export function unionRanges(a: Range[], b: Range[]): Range[] {
  // alignRanges merges what overlaps or touches; with an alignment of 1 it moves nothing.
  return alignRanges([...a, ...b].sort((x, y) => x.start - y.start), 1, 0, Number.MAX_SAFE_INTEGER);
}
