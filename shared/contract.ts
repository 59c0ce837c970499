// The one contract between the renderer and any host (Electron main, browser host).
// Requests go renderer → host and answer with a result; events go host → renderer.
// Every host, the preload and the renderer derive their types from these two maps, so a renamed
// field fails the typecheck everywhere. Runtime validation of requests lives in contract-schemas.ts.

import type { DriveInfo } from './drive-types';
import type { SerializedError } from './errors';
import type { FlashProgress, FlashResult } from './flash-types';

export interface ImageInfo {
  /** Path on the privileged side's machine. */
  path: string;
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
  /** A published checksum was found beside the image (.sha256 / SHA256SUMS). */
  checksum?: string;
}

export interface Settings {
  verify: boolean;
  ejectWhenDone: boolean;
  showAllDrives: boolean;
  /** Write every byte instead of only used blocks. */
  fullWrite: boolean;
}

export const DEFAULT_SETTINGS: Settings = { verify: true, ejectWhenDone: false, showAllDrives: false, fullWrite: false };

export interface BrowseEntry {
  name: string;
  path: string;
  kind: 'dir' | 'file';
  size?: number;
}

export interface FlashStartArgs {
  imagePath: string;
  entry?: string;
  driveIds: string[];
  /** The user confirmed writing to a system drive (only possible with "show all drives"). */
  confirmSystem?: boolean;
}

/** request name → { args, result } */
export interface ContractRequests {
  'drives.list': { args: Record<string, never>; result: DriveInfo[] };
  /** Opens the host's native file dialog (Electron); null when the user cancels. */
  'image.pick': { args: Record<string, never>; result: ImageInfo | null };
  'image.inspect': { args: { path: string; entry?: string }; result: ImageInfo };
  /** Lists a folder on the host, for hosts without a native dialog (the browser host). */
  'image.browse': { args: { dir?: string }; result: { dir: string; parent?: string; entries: BrowseEntry[] } };
  'flash.start': { args: FlashStartArgs; result: { jobId: string } };
  'flash.cancel': { args: { jobId: string }; result: { cancelled: boolean } };
  'settings.get': { args: Record<string, never>; result: Settings };
  'settings.set': { args: Partial<Settings>; result: Settings };
}

/** event name → payload */
export interface ContractEvents {
  'drives.changed': DriveInfo[];
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
  request<K extends RequestName>(name: K, args: RequestArgs<K>): Promise<RequestResult<K>>;
  on<K extends EventName>(name: K, listener: (payload: ContractEvents[K]) => void): () => void;
}
