// The drive scanner: one-shot `list()` and a watcher that pushes 'changed' with the whole list
// whenever a drive appears, disappears or changes (mounts, size, write-protect).
// On Linux a ~1 s poll of a cheap /sys + mountinfo fingerprint decides when the (slower, lsblk-
// spawning) full scan is needed; a full scan also runs every few seconds as a safety net.

import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import * as drivelist from 'drivelist';
import type { DriveInfo } from '../../shared/drive-types';
import { driveInfoFromDrivelist, isIgnoredDevice, type DriveExtras } from './drive-info';
import { blockFingerprint, diskMountpoints, readMountTable, readSwapDevices, readSysBlock } from './linux-block';
import { listLoopDrives } from './loop-drives';

export interface ScannerOptions {
  /** List attached loop devices too (hosts pass BLOCKWISE_INCLUDE_LOOP === '1'). */
  includeLoop: boolean;
  /** How often to look for changes (default 1000 ms). */
  intervalMs?: number;
  /** Full scan at least this often even when nothing seemed to change (default 5000 ms). */
  fullScanMs?: number;
}

function linuxExtras(devicePath: string, mounts: Map<string, string[]>, swaps: Set<string>): DriveExtras {
  const name = path.basename(devicePath);
  const facts = readSysBlock(name);
  if (!facts) return {};
  return {
    serial: facts.serial,
    diskseq: facts.diskseq,
    model: facts.model || undefined,
    mountpoints: diskMountpoints(name, mounts, swaps),
  };
}

/** One scan: every drive a person might write to (and the ones they must not), sorted by path. */
export async function listDrives(options: ScannerOptions): Promise<DriveInfo[]> {
  const raw = await drivelist.list();
  const linux = process.platform === 'linux';
  const mounts = linux ? readMountTable() : new Map<string, string[]>();
  const swaps = linux ? readSwapDevices() : new Set<string>();
  const drives = raw
    .filter((d) => !isIgnoredDevice(d.device))
    // An empty card-reader slot reports size 0: nothing to write to until a card goes in.
    .filter((d) => (d.size ?? 0) > 0)
    .map((d) => driveInfoFromDrivelist(d, linux ? linuxExtras(d.device, mounts, swaps) : {}));
  if (options.includeLoop) drives.push(...listLoopDrives());
  return drives.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}

export class DriveScanner extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private lastFingerprint = '';
  private lastFullScan = 0;
  private lastSerialized: string | undefined;
  private scanning = false;
  private current: DriveInfo[] = [];

  constructor(private readonly options: ScannerOptions) {
    super();
  }

  /** One scan, independent of watching. */
  list(): Promise<DriveInfo[]> {
    return listDrives(this.options);
  }

  /** The list as of the last scan while watching (empty before the first one). */
  get drives(): DriveInfo[] {
    return this.current;
  }

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private needsFullScan(): boolean {
    if (Date.now() - this.lastFullScan >= (this.options.fullScanMs ?? 5000)) return true;
    if (process.platform !== 'linux') return true;
    const fingerprint = blockFingerprint();
    if (fingerprint === this.lastFingerprint) return false;
    return true;
  }

  private async tick(): Promise<void> {
    if (this.scanning || !this.needsFullScan()) return;
    this.scanning = true;
    try {
      // Fingerprint before the scan: a change during the scan then triggers another one.
      if (process.platform === 'linux') this.lastFingerprint = blockFingerprint();
      const drives = await this.list();
      this.lastFullScan = Date.now();
      const serialized = JSON.stringify(drives);
      if (serialized !== this.lastSerialized) {
        this.lastSerialized = serialized;
        this.current = drives;
        if (this.timer) this.emit('changed', drives);
      }
    } catch (error) {
      this.lastFingerprint = '';
      if (this.listenerCount('error') > 0) this.emit('error', error);
    } finally {
      this.scanning = false;
    }
  }
}
