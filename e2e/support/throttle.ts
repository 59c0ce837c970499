// Makes a loop device as slow as a cheap SD card with the cgroup v1 blkio throttle, so a flash
// lasts long enough to watch and cancel. Usually only writes are throttled (readback stays fast);
// a spec that needs time to cancel the readback throttles reads. The limits are always set back to
// 0 (no limit) by the fixture.

import { existsSync, writeFileSync } from 'node:fs';

const WRITE_BPS = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';
const READ_BPS = '/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device';

export function throttleSkipReason(): string | undefined {
  return existsSync(WRITE_BPS) ? undefined : `no blkio throttle here (${WRITE_BPS} is missing)`;
}

export function throttleWrites(majMin: string, bytesPerSecond: number): void {
  writeFileSync(WRITE_BPS, `${majMin} ${bytesPerSecond}\n`);
}

export function throttleReads(majMin: string, bytesPerSecond: number): void {
  writeFileSync(READ_BPS, `${majMin} ${bytesPerSecond}\n`);
}

export function unthrottle(majMin: string): void {
  for (const file of [WRITE_BPS, READ_BPS]) {
    try {
      writeFileSync(file, `${majMin} 0\n`);
    } catch {
      /* the device is already gone, and its rule with it */
    }
  }
}
