// `blockwise verify IMAGE --against DEVICE`: compare an image with a drive without writing.
// Streams the image once and reads the same ranges from the drive (cache bypassed), byte for byte.

import { BlockwiseError } from '../../shared/errors';
import type { FlashJob, FlashProgress, TargetProgress, VerifyJob, VerifyResult } from '../../shared/flash-types';
import { ALIGNMENT, AlignedPool, alignUp } from './aligned-pool';
import { choosePlanner } from './planner-choice';
import { ProgressMeter } from './progress-meter';
import { openSource } from './sources/open-source';
import { deviceGeometry } from './targets/device-geometry';
import { IoWatch, watchReader } from './targets/io-watch';
import { openTargetReader, type TargetReader } from './targets/target';
import { alignRanges, rangesLength } from './write-planner';
import { CHUNK_SIZE } from './flash';
import { promises as fsp } from 'node:fs';
import { formatBytesExact } from '../../shared/format-bytes';
import { describeDeviceUsers } from './targets/device-users';

export interface CompareContext {
  signal: AbortSignal;
  onProgress: (progress: FlashProgress) => void;
  /** Compare every byte, not only those the image's filesystems use. */
  full?: boolean;
  /** Silence after which the drive is reported as not responding (default: io-watch's STALL_NOTICE_MS). */
  stallNoticeMs?: number;
}

/** The target's size, and the unit its direct reads must come in: a 4Kn drive takes whole 4096-byte blocks only. */
async function geometryOf(targetPath: string): Promise<{ capacity: number; blockSize: number }> {
  const stat = await fsp.stat(targetPath).catch(() => undefined);
  if (!stat) throw new BlockwiseError('TARGET_NOT_FOUND', `${targetPath} does not exist.`, { path: targetPath });
  // A file's direct reads take the alignment of the drive beneath its filesystem: 4096 suits any.
  if (!stat.isBlockDevice()) return { capacity: stat.size, blockSize: ALIGNMENT };
  const geometry = await deviceGeometry(targetPath);
  return { capacity: geometry.size, blockSize: Math.max(512, geometry.logicalBlockSize) };
}

/**
 * A drive (or file) that ends before the image: it does not hold the image, which is what verify
 * asks. Said as "the image is larger", the advice was a flash's: a larger drive, or free space.
 */
function endsEarly(targetPath: string, capacity: number, imageSize?: number): BlockwiseError {
  const image = imageSize === undefined ? 'the image goes on past it' : `the image is ${formatBytesExact(imageSize)}`;
  return new BlockwiseError('VERIFY_MISMATCH', `${targetPath} differs from the image at byte ${capacity}: it ends there (it holds ${formatBytesExact(capacity)}), and ${image}.`, {
    path: targetPath,
    offset: capacity,
  });
}

export async function runCompare(job: VerifyJob, context: CompareContext): Promise<VerifyResult> {
  const started = performance.now();
  const source = await openSource(job.source);
  const { capacity, blockSize } = await geometryOf(job.target.path).catch(async (error: unknown) => {
    await source.close();
    throw error;
  });
  const size = source.info.size ?? source.info.sizeAtLeast;
  if (size !== undefined && size > capacity) {
    await source.close();
    throw endsEarly(job.target.path, capacity, size);
  }
  // Watched like a flash's readback: a drive silent on a read is said to be (once a second, the
  // latest figures again), and a cancel gives up on it after CANCEL_GRACE_MS.
  const watch = new IoWatch({ signal: context.signal, noticeMs: context.stallNoticeMs });
  const meter = new ProgressMeter(context.onProgress);
  let compared = 0;
  let offset = 0;
  const drive = (): TargetProgress[] => {
    const t: TargetProgress = { path: job.target.path, phase: 'verifying', position: offset, bytesWritten: 0, bytesVerified: compared };
    const stalled = watch.stalledSeconds();
    if (stalled !== undefined) t.stalledSeconds = stalled;
    return [t];
  };
  const heartbeat = setInterval(() => {
    if (watch.stalledSeconds() !== undefined) meter.refresh(drive());
  }, 1000);
  heartbeat.unref();
  let reader: TargetReader | undefined;
  try {
    reader = watchReader(await openTargetReader(job.target.path), job.target.path, watch, 'check');
    const pool = new AlignedPool(CHUNK_SIZE, 2);
    const flashJob: FlashJob = { source: job.source, targets: [job.target], options: { verify: true, full: context.full ?? false, readOnly: true } };
    const planner = await choosePlanner(flashJob, source);
    meter.update({ phase: 'verifying', position: 0, total: source.info.size, deviceBytes: 0, targets: drive() }, true);
    const image = await pool.acquire();
    const device = await pool.acquire();
    for (;;) {
      if (context.signal.aborted) throw new BlockwiseError('CANCELLED', 'Verification was cancelled.');
      const n = await source.read(image);
      if (n === 0) break;
      const start = offset;
      const end = offset + n;
      planner.observe(start, image.subarray(0, n));
      if (end > capacity) throw endsEarly(job.target.path, capacity);
      for (const r of alignRanges(planner.rangesToWrite(start, end), ALIGNMENT, start, end)) {
        const rel = r.start - start;
        const length = r.end - r.start;
        // The image's last block may end mid-block: the drive is read to the end of that block.
        await reader.read(device.subarray(rel, rel + Math.min(alignUp(length, blockSize), device.length - rel)), r.start);
        if (!image.subarray(rel, rel + length).equals(device.subarray(rel, rel + length))) {
          let i = rel;
          while (image[i] === device[i]) i++;
          // A flash (of this or another program) still writing the drive reads as "holds another
          // image": say who has it open, so that the comparison is run again once it has finished.
          const users = (await fsp.stat(job.target.path).then((st) => st.isBlockDevice(), () => false)) ? describeDeviceUsers(job.target.path) : undefined;
          const busy = users?.includes('open in') ? ` It is ${users.split('; ').filter((u) => u.startsWith('open in')).join(' and ')}: if that is writing it, compare again once it has finished.` : '';
          throw new BlockwiseError('VERIFY_MISMATCH', `${job.target.path} differs from the image at byte ${start + i}.${busy}`, {
            path: job.target.path,
            offset: start + i,
          });
        }
        compared += length;
      }
      offset = end;
      meter.update({ phase: 'verifying', position: offset, total: source.info.size, deviceBytes: compared, targets: drive() });
    }
    if (offset === 0) throw new BlockwiseError('SOURCE_EMPTY', `${source.info.name} contains no image data.`);
    planner.finish?.();
    meter.update({ phase: 'done', position: offset, total: offset, deviceBytes: compared, targets: drive() }, true);
    return { imageSize: offset, bytesCompared: compared, durationMs: performance.now() - started };
  } finally {
    clearInterval(heartbeat);
    await reader?.close();
    await source.close();
  }
}

export { rangesLength };
