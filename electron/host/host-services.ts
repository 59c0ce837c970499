// The services every host shares, built once per process. Hosts add only what is theirs
// (Electron: the native dialog; both: how events reach the renderer).

import * as path from 'node:path';
import type { AppInfo } from '../../shared/contract';
import { createDriveScanner, DriveService, type DriveSource } from './drive-service';
import { EventBus } from './event-bus';
import { FlashService, type EngineFactory } from './flash-service';
import { inspectImage } from './image-inspector';
import { defaultConfigDir, SettingsStore } from './settings-store';

export interface HostServicesOptions {
  /** Defaults to the real scanner (loop devices only with BLOCKWISE_INCLUDE_LOOP=1). */
  scanner?: DriveSource;
  configDir?: string;
  engine?: EngineFactory;
  /** Does this process lack the right to read a drive? (drives.backup; tests pass a fake.) */
  needsElevation?: (device: string) => Promise<boolean>;
  /** Where image.browse starts (default: the home folder). */
  browseStart?: string;
}

export interface HostServices {
  bus: EventBus;
  drives: DriveService;
  settings: SettingsStore;
  flash: FlashService;
  browseStart?: string;
  close(): Promise<void>;
}

export function createHostServices(options: HostServicesOptions = {}): HostServices {
  const bus = new EventBus();
  const drives = new DriveService(options.scanner ?? createDriveScanner(), bus);
  const settings = new SettingsStore(options.configDir ?? defaultConfigDir());
  const flash = new FlashService({
    drives,
    settings,
    bus,
    engine: options.engine,
    ...(options.needsElevation ? { needsElevation: options.needsElevation } : {}),
    downloadsDir: path.join(settings.dir, 'downloads'),
    // Unknown size (or an image the inspector refuses) is left for the engine to report as a flash.error.
    imageSize: (imagePath, entry) => inspectImage(imagePath, entry).then((i) => i.imageSize, () => undefined),
  });
  const services: HostServices = {
    bus,
    drives,
    settings,
    flash,
    async close() {
      drives.stop();
      await flash.shutdown();
    },
  };
  if (options.browseStart) services.browseStart = options.browseStart;
  return services;
}

export function appVersion(): string {
  try {
    return (require(path.join(__dirname, '..', '..', '..', 'package.json')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export function appInfo(host: AppInfo['host']): AppInfo {
  return { host, version: appVersion(), platform: process.platform, nativeDialog: host === 'electron' };
}
