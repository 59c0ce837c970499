// Human output for a terminal: sizes, durations and a one-line progress bar redrawn in place.

import type { FlashProgress } from '../../shared/flash-types';
import { formatBytes } from '../../shared/format-bytes';

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  if (h > 0) return `${h}:${String(m % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

const PHASE_LABEL: Record<FlashProgress['phase'], string> = {
  starting: 'Starting ',
  writing: 'Writing  ',
  finishing: 'Flushing ',
  verifying: 'Verifying',
  done: 'Done     ',
};

export function progressLine(p: FlashProgress, width = 30): string {
  const pct = p.percent ?? 0;
  const filled = Math.round((pct / 100) * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  const parts = [`${PHASE_LABEL[p.phase]} [${bar}] ${pct.toFixed(0).padStart(3)}%`];
  if (p.speed > 0) parts.push(`${formatBytes(p.speed)}/s`);
  if (p.effectiveSpeed > p.speed * 1.05 && p.phase === 'writing') parts.push(`(${formatBytes(p.effectiveSpeed)}/s effective)`);
  if (p.eta !== undefined && p.phase !== 'done') parts.push(`ETA ${formatDuration(p.eta)}`);
  const failed = p.targets.filter((t) => t.error).length;
  if (failed > 0) parts.push(`${failed} drive(s) failed`);
  for (const t of p.targets) if (t.stalledSeconds !== undefined) parts.push(`${t.path} not responding for ${t.stalledSeconds} s (Ctrl-C stops)`);
  if (p.reconnecting) parts.push(`download interrupted at ${formatBytes(p.reconnecting.atByte)}: reconnecting (attempt ${p.reconnecting.attempt} of ${p.reconnecting.attempts})`);
  return parts.join('  ');
}

/**
 * Redraws one line on a TTY; on a pipe prints only phase changes, so logs stay readable. The end is
 * not shown as "Done" when the engine reaches it, but by finish() once the outcome is known: a
 * flash whose every drive failed also reaches the engine's last phase before its error.
 */
export class ProgressPrinter {
  private lastPhase: string | undefined;
  private last: FlashProgress | undefined;
  private drawn = false;
  /** Drives already said to be silent, on a pipe (one line each time one goes silent). */
  private readonly silent = new Set<string>();
  /** The byte a download broke at, already said on a pipe. */
  private reconnectingAt: number | undefined;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(progress: FlashProgress): void {
    if (progress.phase === 'done') return;
    this.last = progress;
    if (this.out.isTTY) {
      this.out.write(`\r${progressLine(progress)}\x1b[K`);
      this.drawn = true;
    } else {
      if (progress.phase !== this.lastPhase) this.out.write(`${PHASE_LABEL[progress.phase].trim()}…\n`);
      for (const t of progress.targets) {
        if (t.stalledSeconds === undefined) this.silent.delete(t.path);
        else if (!this.silent.has(t.path)) {
          this.silent.add(t.path);
          this.out.write(`${t.path} has not responded for ${t.stalledSeconds} s; still waiting (Ctrl-C stops).\n`);
        }
      }
      const r = progress.reconnecting;
      if (r && r.atByte !== this.reconnectingAt) this.out.write(`The download broke off at byte ${r.atByte} (${r.reason}); reconnecting to resume it…\n`);
      this.reconnectingAt = r?.atByte;
    }
    this.lastPhase = progress.phase;
  }

  /** Ends the progress output; `succeeded`: every target was written (and verified), so the bar may say Done. */
  finish(succeeded: boolean): void {
    if (succeeded && this.out.isTTY && this.last) {
      this.out.write(`\r${progressLine({ ...this.last, phase: 'done', percent: 100, eta: undefined })}\x1b[K`);
      this.drawn = true;
    }
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
