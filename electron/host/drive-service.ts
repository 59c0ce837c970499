// The scanner behind every host. Remembers the latest scan so a drive id from the renderer can be
// checked against what the scanner really issued: the renderer never names a device path.

import type { DriveInfo } from '../../shared/drive-types';
import { DriveScanner } from '../drives/scanner';
import type { EventBus } from './event-bus';

/** What the service needs of a scanner (electron/drives/scanner.ts; tests pass a fake). */
export interface DriveSource {
  list(): Promise<DriveInfo[]>;
  start(): void;
  stop(): void;
  on(event: 'changed', listener: (drives: DriveInfo[]) => void): unknown;
  off(event: 'changed', listener: (drives: DriveInfo[]) => void): unknown;
}

export function createDriveScanner(env: NodeJS.ProcessEnv = process.env): DriveSource {
  return new DriveScanner({ includeLoop: env.BLOCKWISE_INCLUDE_LOOP === '1' });
}

export class DriveService {
  private latest = new Map<string, DriveInfo>();
  private latestList: DriveInfo[] = [];
  private watching = false;
  private readonly onChanged = (drives: DriveInfo[]) => {
    this.remember(drives);
    this.bus.emit('drives.changed', drives);
  };

  constructor(
    private readonly source: DriveSource,
    private readonly bus: EventBus,
  ) {}

  /** A fresh scan; it becomes the latest one. */
  async list(): Promise<DriveInfo[]> {
    const drives = await this.source.list();
    this.remember(drives);
    return drives;
  }

  /** The drive with this id in the latest scan, if any. */
  get(id: string): DriveInfo | undefined {
    return this.latest.get(id);
  }

  /** Every drive of the latest scan (to find the one holding the image). */
  all(): DriveInfo[] {
    return this.latestList;
  }

  start(): void {
    if (this.watching) return;
    this.watching = true;
    this.source.on('changed', this.onChanged);
    this.source.start();
  }

  stop(): void {
    if (!this.watching) return;
    this.watching = false;
    this.source.off('changed', this.onChanged);
    this.source.stop();
  }

  private remember(drives: DriveInfo[]): void {
    this.latestList = drives;
    this.latest = new Map(drives.map((d) => [d.id, d]));
  }
}
