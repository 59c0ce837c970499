// The set of image byte ranges a filesystem has proved unused: the only bytes a planner may skip.
// Kept as sorted, disjoint, merged intervals so a chunk's complement is a short walk.

import type { Range } from '../write-planner';

export class FreeRanges {
  private readonly ranges: Range[] = [];

  get size(): number {
    return this.ranges.length;
  }

  /** Total free bytes recorded. */
  get bytes(): number {
    return this.ranges.reduce((n, r) => n + (r.end - r.start), 0);
  }

  /** Index of the first range whose end is > offset. */
  private firstEndingAfter(offset: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ranges[mid]!.end > offset) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  add(start: number, end: number): void {
    if (!(end > start)) return;
    // Ranges that touch or overlap [start, end) merge into one.
    const i = this.firstEndingAfter(start - 1);
    let j = i;
    while (j < this.ranges.length && this.ranges[j]!.start <= end) {
      start = Math.min(start, this.ranges[j]!.start);
      end = Math.max(end, this.ranges[j]!.end);
      j++;
    }
    this.ranges.splice(i, j - i, { start, end });
  }

  /** Sub-ranges of [start, end) not covered by a free range, sorted. */
  complement(start: number, end: number): Range[] {
    const out: Range[] = [];
    let cursor = start;
    for (let i = this.firstEndingAfter(start); i < this.ranges.length; i++) {
      const r = this.ranges[i]!;
      if (r.start >= end) break;
      if (r.start > cursor) out.push({ start: cursor, end: r.start });
      cursor = Math.max(cursor, r.end);
      if (cursor >= end) break;
    }
    if (cursor < end) out.push({ start: cursor, end });
    return out;
  }

  /** Forgets ranges that end at or before `offset` (already streamed past), to keep memory flat. */
  dropBefore(offset: number): void {
    const i = this.firstEndingAfter(offset);
    if (i > 0) this.ranges.splice(0, i);
  }

  toArray(): Range[] {
    return this.ranges.map((r) => ({ ...r }));
  }
}
