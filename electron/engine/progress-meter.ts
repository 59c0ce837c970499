// Turns a stream of byte counts into at most ~10 progress messages a second, with speeds smoothed
// by an exponential moving average so the number a person reads doesn't jitter. For the first
// seconds of a phase the speed is the plain average since the phase began: an average seeded
// with the first 100 ms (a burst of skipped ranges, a cache) would spike and take seconds to
// decay. No ETA until WARMUP_MS have passed: an estimate from a fraction of a second is noise.

import type { FlashPhase, FlashProgress, Reconnecting, TargetProgress } from '../../shared/flash-types';

export const PROGRESS_INTERVAL_MS = 100;
const SMOOTHING_SECONDS = 2;
export const WARMUP_MS = 2000;

export interface MeterSample {
  phase: FlashPhase;
  position: number;
  total?: number;
  /** Bytes moved to/from the device so far in this phase (for the honest speed). */
  deviceBytes: number;
  sourcePosition?: number;
  sourceTotal?: number;
  reconnecting?: Reconnecting;
  targets: TargetProgress[];
}

export class ProgressMeter {
  private lastEmit = 0;
  private lastTime = 0;
  private lastPosition = 0;
  private lastDeviceBytes = 0;
  private lastSample: MeterSample | undefined;
  private speed = 0;
  private effectiveSpeed = 0;
  private phase: FlashPhase | undefined;
  private phaseStart = 0;
  private phaseStartPosition = 0;
  private phaseStartDeviceBytes = 0;

  constructor(
    private readonly emit: (progress: FlashProgress) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Offer a sample; it is emitted if the phase changed, `force` is set, or enough time passed. */
  update(sample: MeterSample, force = false): void {
    this.lastSample = sample;
    const t = this.now();
    if (sample.phase !== this.phase) {
      this.phase = sample.phase;
      this.phaseStart = t;
      this.phaseStartPosition = sample.position;
      this.phaseStartDeviceBytes = sample.deviceBytes;
      this.lastTime = t;
      this.lastPosition = sample.position;
      this.lastDeviceBytes = sample.deviceBytes;
      this.speed = 0;
      this.effectiveSpeed = 0;
      force = true;
    }
    const dt = (t - this.lastTime) / 1000;
    if (dt >= PROGRESS_INTERVAL_MS / 1000) {
      const elapsed = (t - this.phaseStart) / 1000;
      if (elapsed * 1000 < WARMUP_MS) {
        this.speed = (sample.deviceBytes - this.phaseStartDeviceBytes) / elapsed;
        this.effectiveSpeed = (sample.position - this.phaseStartPosition) / elapsed;
      } else {
        const alpha = 1 - Math.exp(-dt / SMOOTHING_SECONDS);
        this.speed += alpha * ((sample.deviceBytes - this.lastDeviceBytes) / dt - this.speed);
        this.effectiveSpeed += alpha * ((sample.position - this.lastPosition) / dt - this.effectiveSpeed);
      }
      this.lastTime = t;
      this.lastPosition = sample.position;
      this.lastDeviceBytes = sample.deviceBytes;
    }
    if (!force && t - this.lastEmit < PROGRESS_INTERVAL_MS) return;
    this.lastEmit = t;
    this.emit(this.snapshot(sample, t));
  }

  /**
   * Sends the latest figures again with the drives' state as it is now: nothing moved, so the
   * speeds fall toward zero as they should. For a drive that stopped answering (io-watch.ts).
   */
  refresh(targets: TargetProgress[], reconnecting?: Reconnecting): void {
    if (!this.lastSample) return;
    const sample: MeterSample = { ...this.lastSample, targets };
    if (reconnecting) sample.reconnecting = reconnecting;
    else delete sample.reconnecting;
    this.update(sample, true);
  }

  private snapshot(sample: MeterSample, t: number): FlashProgress {
    const progress: FlashProgress = {
      phase: sample.phase,
      position: sample.position,
      speed: Math.max(0, this.speed),
      effectiveSpeed: Math.max(0, this.effectiveSpeed),
      targets: sample.targets.map((target) => ({ ...target })),
    };
    if (sample.total !== undefined) progress.total = sample.total;
    if (sample.sourcePosition !== undefined) progress.sourcePosition = sample.sourcePosition;
    if (sample.sourceTotal !== undefined) progress.sourceTotal = sample.sourceTotal;
    if (sample.reconnecting) progress.reconnecting = { ...sample.reconnecting };
    let fraction: number | undefined;
    if (sample.total) fraction = sample.position / sample.total;
    else if (sample.sourceTotal && sample.sourcePosition !== undefined) fraction = sample.sourcePosition / sample.sourceTotal;
    if (sample.phase === 'done') fraction = 1;
    if (fraction !== undefined) {
      progress.percent = Math.min(100, Math.max(0, fraction * 100));
      const warm = t - this.phaseStart >= WARMUP_MS;
      const rate = sample.total && warm ? this.effectiveSpeed : 0;
      // No estimate while a drive is not answering, or a download reconnecting: either could end
      // in a second or never.
      const silent = sample.targets.some((drive) => drive.stalledSeconds !== undefined) || sample.reconnecting !== undefined;
      if (rate > 0 && sample.total && !silent) progress.eta = Math.max(0, (sample.total - sample.position) / rate);
    }
    return progress;
  }
}
