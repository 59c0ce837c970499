// The one contract between the renderer and any host (Electron main, browser host).
// Requests go renderer → host and answer with a result; events go host → renderer.
// Every host, the preload and the renderer derive their types from these two maps, so a renamed
// field fails the typecheck everywhere. Runtime validation of requests lives in contract-schemas.ts.

import { DEFAULT_CATALOG_URL, type Catalog } from './catalog';
import type { DriveInfo } from './drive-types';
import type { SerializedError } from './errors';
import type { BackupResult, CapacityCheckResult, FlashProgress, FlashResult } from './flash-types';

export interface ImageInfo {
  /** Path on the privileged side's machine (an image from a file). Exactly one of path and url. */
  path?: string;
  /** http(s) address of an image the flash will download and write as it arrives. */
  url?: string;
  name: string;
  /** Size of the file as stored. */
  storedSize: number;
  /** Size of the decompressed image, when known. */
  imageSize?: number;
  /** Detected container/compression chain, e.g. ['xz'] or ['raw']. */
  formats: string[];
  /** Images inside an archive, when there are several to choose from. */
  entries?: string[];
  entry?: string;
  /** A .bmap was found beside the image. */
  hasBmap?: boolean;
  /** A published checksum was found beside the image (.sha256 / SHA256SUMS): its SHA-256 hex. */
  checksum?: string;
  /** Name of the file that published it, e.g. SHA256SUMS. */
  checksumFile?: string;
}

export interface Settings {
  verify: boolean;
  ejectWhenDone: boolean;
  showAllDrives: boolean;
  /** Write every byte instead of only used blocks. */
  fullWrite: boolean;
  /** Keep each downloaded image in the host's cache folder, so the next flash of it reads the copy. */
  keepDownloads: boolean;
  /** The catalog the app lists images from (catalog.list): the last one opened, else Raspberry Pi's. */
  catalogUrl: string;
}

export const DEFAULT_SETTINGS: Settings = {
  verify: true,
  ejectWhenDone: false,
  showAllDrives: false,
  fullWrite: false,
  keepDownloads: false,
  catalogUrl: DEFAULT_CATALOG_URL,
};

/** The settings that are switches (the settings panel's). */
export type SwitchSetting = { [K in keyof Settings]: Settings[K] extends boolean ? K : never }[keyof Settings];

export interface BrowseEntry {
  name: string;
  path: string;
  kind: 'dir' | 'file';
  size?: number;
}

/** Where an image is: a file on the host, or an http(s) address. Exactly one is given. */
export interface ImageLocation {
  path?: string;
  url?: string;
}

export interface FlashStartArgs {
  /** The image file on the host; or `url` for a download. Exactly one of the two. */
  imagePath?: string;
  url?: string;
  entry?: string;
  /** SHA-256 the user expects (64 hex digits); it may describe the download or the image inside. */
  checksum?: string;
  driveIds: string[];
  /** The user confirmed writing to a system drive (only possible with "show all drives"). */
  confirmSystem?: boolean;
}

/** Which host the renderer runs in, so it can pick a native dialog or the folder browser. */
export interface AppInfo {
  host: 'electron' | 'web';
  version: string;
  /** process.platform of the privileged side, e.g. 'linux'. */
  platform: string;
  /** `image.pick` opens a native dialog (Electron); otherwise use `image.browse`. */
  nativeDialog: boolean;
}

export interface ActiveJob {
  jobId: string;
  /** The image's path, or its URL for a download. */
  imagePath: string;
  /** Its file name, or the last part of its address: what a renderer that joins later shows. */
  imageName: string;
  /** The image is downloaded as it is written (imagePath is its address). */
  download: boolean;
  /** The archive entry written, when one was chosen. */
  entry?: string;
  driveIds: string[];
  /** The drives as the scan saw them when the job started (a renderer that joins later names them). */
  drives: DriveInfo[];
  /** The latest progress event, once there was one. */
  progress?: FlashProgress;
  /** A cancel was asked for and the engine is stopping. */
  cancelling: boolean;
  /**
   * How it ended, for a job that has: ended jobs stay listed for JOB_MEMORY_MS, so that a renderer
   * whose connection dropped mid-flash, or a tab reloaded just then, learns the outcome.
   */
  outcome?: { result: FlashResult } | { error: SerializedError };
}

/** How long flash.jobs keeps listing a job after it ended. */
export const JOB_MEMORY_MS = 10 * 60 * 1000;

/** request name → { args, result } */
export interface ContractRequests {
  'app.info': { args: Record<string, never>; result: AppInfo };
  'drives.list': { args: Record<string, never>; result: DriveInfo[] };
  /**
   * Checks a drive for fake capacity (electron/engine/capacity-check.ts): test blocks written across
   * it and read back, its own data put back. Resolves when done (seconds on a card); the drive is
   * busy meanwhile, and a drive being flashed is refused.
   */
  'drives.check': { args: { driveId: string }; result: CapacityCheckResult };
  /**
   * Stops the capacity check of that drive, from any tab: its drives.check then fails with
   * CANCELLED once the drive's own data is back. false: no check of that drive is running.
   */
  'drives.checkCancel': { args: { driveId: string }; result: { cancelled: boolean } };
  /** A file the drive could be backed up to (drives.backup), that does not exist yet: what the app suggests. */
  'drives.backupName': { args: { driveId: string }; result: { file: string } };
  /**
   * Copies a drive into an image file on the host (NAME.img, .img.gz, .img.zst or .img.xz), read
   * exclusively and checked by decompressing it again; resolves when saved. The drive is busy
   * meanwhile. Refused where the host may not read the drive itself (never through the helper).
   */
  'drives.backup': { args: { driveId: string; file: string }; result: BackupResult };
  /**
   * Opens the host's native save dialog (Electron) at `file`, for where a backup goes; null when
   * the person cancels. Hosts without one (the browser host) refuse it: the path is typed there.
   */
  'drives.backupPick': { args: { file: string }; result: { file: string } | null };
  /** Stops a backup: its drives.backup rejects with CANCELLED, nothing saved. false: none running. */
  'drives.backupCancel': { args: { driveId: string }; result: { cancelled: boolean } };
  /** Opens the host's native file dialog (Electron); null when the user cancels. */
  'image.pick': { args: Record<string, never>; result: ImageInfo | null };
  /**
   * Reads a catalog of images (Raspberry Pi Imager's JSON format) from its address, by default the
   * one in settings.catalogUrl; a group whose entries are at another address is read the same way.
   */
  'catalog.list': { args: { url?: string }; result: Catalog };
  /**
   * Inspects an image on the host: format by content, sizes, .bmap and checksum beside it. A URL
   * is asked for its headers and first bytes only (size, name, format); nothing is downloaded.
   */
  'image.inspect': { args: ImageLocation & { entry?: string }; result: ImageInfo };
  /** Lists a folder on the host, for hosts without a native dialog (the browser host). */
  'image.browse': { args: { dir?: string }; result: { dir: string; parent?: string; entries: BrowseEntry[] } };
  /**
   * Starts writing; resolves once the job is accepted (drive ids checked against the latest scan,
   * unsuitable drives refused). Progress and the outcome then arrive as flash.* events.
   */
  'flash.start': { args: FlashStartArgs; result: { jobId: string } };
  'flash.cancel': { args: { jobId: string }; result: { cancelled: boolean } };
  /**
   * Jobs running, and those that ended in the last JOB_MEMORY_MS with their outcome: a renderer
   * asks on every (re)connection, so a reloaded tab or a new one follows a flash already under way.
   */
  'flash.jobs': { args: Record<string, never>; result: ActiveJob[] };
  'settings.get': { args: Record<string, never>; result: Settings };
  'settings.set': { args: Partial<Settings>; result: Settings };
}

/** event name → payload */
export interface ContractEvents {
  'drives.changed': DriveInfo[];
  /**
   * A capacity check under way (drives.check): how far, in percent of its test-block I/Os; and,
   * once the drive has not answered for ~10 s, for how long (every second until it answers).
   */
  'drives.checkProgress': { driveId: string; percent: number; stalledSeconds?: number };
  /** A backup under way (drives.backup): reading the drive, then checking the saved file, in percent. */
  'drives.backupProgress': { driveId: string; phase: 'reading' | 'checking'; percent: number };
  /**
   * The capacity checks and backups running, whichever window or tab started them: sent when one
   * starts or ends, so that every tab shows those drives busy (a tab opened meanwhile learns of
   * one from its progress events).
   */
  'drives.tasks': { running: Array<{ driveId: string; kind: 'check' | 'backup' }> };
  'flash.progress': { jobId: string; progress: FlashProgress };
  'flash.done': { jobId: string; result: FlashResult };
  'flash.error': { jobId: string; error: SerializedError };
}

export type RequestName = keyof ContractRequests;
export type EventName = keyof ContractEvents;
export type RequestArgs<K extends RequestName> = ContractRequests[K]['args'];
export type RequestResult<K extends RequestName> = ContractRequests[K]['result'];

/** What the renderer holds: one function per request, one subscription per event. */
export interface BlockwiseApi {
  /** Rejects with a plain SerializedError (see the top of this file). */
  request<K extends RequestName>(name: K, args: RequestArgs<K>): Promise<RequestResult<K>>;
  /** Returns the unsubscribe function. */
  on<K extends EventName>(name: K, listener: (payload: ContractEvents[K]) => void): () => void;
}

/** A dropped file as the DOM gives it; structural so shared/ needs no DOM types. */
export interface DroppedFile {
  readonly name: string;
  readonly size: number;
}

/**
 * What the Electron preload exposes as `window.blockwise` (BRIDGE_KEY): the API, plus the host
 * path of a drag-and-dropped file (Electron's webUtils.getPathForFile; '' when it has none).
 * The browser host has no bridge: its renderer speaks ws-protocol.ts and uses `image.browse`.
 */
export interface BlockwiseBridge extends BlockwiseApi {
  pathForFile(file: DroppedFile): string;
}

export const BRIDGE_KEY = 'blockwise';

/** True for the plain {code, message} object a failed request rejects with. */
export function isContractFailure(value: unknown): value is SerializedError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { code?: unknown; message?: unknown };
  return typeof v.code === 'string' && typeof v.message === 'string';
}
