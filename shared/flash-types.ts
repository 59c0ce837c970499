// The vocabulary of one flash, shared by the engine, its hosts and the renderer.
// Everything here is plain JSON so it can cross worker, process and socket boundaries unchanged.

import type { SerializedError } from './errors';

/** Where the image comes from. Paths and URLs are resolved on the privileged side only. */
export type SourceSpec =
  | { kind: 'file'; path: string; entry?: string }
  | { kind: 'url'; url: string; entry?: string; cachePath?: string };

/** A checksum the user or a catalog supplied; `of` says which bytes it describes. */
export interface ChecksumSpec {
  algorithm: 'sha256';
  hex: string;
  /** 'image': the decompressed image; 'file': the file or download as stored; 'auto': either may match. */
  of: 'image' | 'file' | 'auto';
}

/** What the host knew about a drive when the user chose it; re-checked right before opening. */
export interface DriveIdentity {
  size?: number;
  model?: string;
  serial?: string;
}

export interface TargetSpec {
  /** Device path (/dev/sdb, /dev/loop3, \\.\PhysicalDrive2) or a regular file's path. */
  path: string;
  identity?: DriveIdentity;
  /**
   * A regular file to create if it is missing (the CLI's `--to new.img`). Never set for drives:
   * a mistyped device path must fail, not become a file.
   */
  createFile?: boolean;
}

export interface FlashOptions {
  /** Read the written ranges back from the device and compare (default true). */
  verify: boolean;
  /** Write every byte of the image, not only the blocks its filesystems use (default false). */
  full: boolean;
  checksum?: ChecksumSpec;
  /** Path of a bmaptool .bmap to use; undefined means "look beside the image", null means "don't". */
  bmapPath?: string | null;
  /** Eject / power off each drive after a successful flash (default false). */
  eject?: boolean;
  /** Set by `verify`, which only reads: messages then say nothing of what was or was not written. */
  readOnly?: boolean;
}

export interface FlashJob {
  source: SourceSpec;
  targets: TargetSpec[];
  options: FlashOptions;
}

export interface VerifyJob {
  source: SourceSpec;
  target: TargetSpec;
}

export type FlashPhase = 'starting' | 'writing' | 'finishing' | 'verifying' | 'done';

export interface TargetProgress {
  path: string;
  phase: FlashPhase;
  /** Image bytes this drive has dealt with (written or skipped as unused). */
  position: number;
  /** Bytes actually written to this drive. */
  bytesWritten: number;
  /** Bytes read back so far while verifying. */
  bytesVerified: number;
  /** Set once the drive has failed; the others carry on. */
  error?: SerializedError;
  /**
   * Seconds this drive has had I/O outstanding and finished none, once that passes ~10 s: it has
   * stopped answering (a failing card, a loose adapter). The flash keeps waiting; the user may
   * cancel or unplug it.
   */
  stalledSeconds?: number;
}

export interface FlashProgress {
  phase: FlashPhase;
  /** Image bytes processed in the current phase. */
  position: number;
  /** Total for the current phase, when known (image size, or bytes to verify). */
  total?: number;
  /** Compressed/downloaded bytes consumed, and their total, when the image is compressed. */
  sourcePosition?: number;
  sourceTotal?: number;
  percent?: number;
  /** Bytes actually moved to (or read from) the device per second, smoothed. */
  speed: number;
  /** Image bytes per second including skipped ranges: what the user experiences. */
  effectiveSpeed: number;
  /** Seconds left, when it can be estimated. */
  eta?: number;
  /** A download whose connection broke, being picked up again where it stopped. */
  reconnecting?: Reconnecting;
  targets: TargetProgress[];
}

export interface Reconnecting {
  /** Bytes of the download received before the connection broke. */
  atByte: number;
  /** This attempt to resume, counted from 1, of `attempts` at most in a row. */
  attempt: number;
  attempts: number;
  /** Why the connection broke, in words ("the connection was closed"). */
  reason: string;
}

export interface TargetResult {
  path: string;
  ok: boolean;
  bytesWritten: number;
  verified: boolean;
  error?: SerializedError;
  /** "Eject when done": it was ejected, safe to unplug. */
  ejected?: boolean;
  /** "Eject when done" failed: why; it must be ejected by hand before it is unplugged. */
  ejectError?: string;
}

export interface FlashResult {
  /** Uncompressed image size in bytes. */
  imageSize: number;
  /**
   * SHA-256 of the image as written: always for raw images; for compressed ones only when a
   * checksum asked for it (see electron/engine/flash-hashes.ts).
   */
  imageSha256?: string;
  /** SHA-256 of the file or download as stored, when it differs from the image (compressed, zip, tar). */
  fileSha256?: string;
  /** Why a SHA-256 above is missing: its file could not be read to the end after the drives were written and checked. */
  sha256Unavailable?: string;
  checksumVerified?: boolean;
  /** Where the checksum that matched was published (a file beside the image, or an address); absent when it was given with the job. */
  checksumPublishedIn?: string;
  /** Bytes the block map said must be written (equals imageSize for a full write). */
  mappedBytes: number;
  /** The .bmap (path or address) that chose what was written, when one did; else the image's filesystems or everything. */
  blockMap?: string;
  durationMs: number;
  writeMs: number;
  verifyMs: number;
  /**
   * Local files are hashed by a low-priority thread beside the write and the readback; this is
   * how long the flash then still waited for that SHA-256 (about 0 when it was ready first).
   */
  hashWaitMs?: number;
  targets: TargetResult[];
}

export interface VerifyResult {
  imageSize: number;
  bytesCompared: number;
  durationMs: number;
}

/** What a capacity check found (electron/engine/capacity-check.ts). */
export type CapacityVerdict = 'genuine' | 'wraps' | 'loses';

export interface CapacityCheckResult {
  path: string;
  /** The size the drive reports, in bytes. */
  claimed: number;
  /**
   * 'genuine': every test block kept its data. 'wraps': data written from `keeps` on lands at
   * offset `wrapsTo` instead (a counterfeit). 'loses': data written from about `keeps` on is not
   * kept (dropped, damaged or refused: counterfeit or failing).
   */
  verdict: CapacityVerdict;
  /** Bytes from the start that kept their data: `claimed` for a genuine drive. */
  keeps: number;
  /** The first test block that did not keep its data. */
  firstBad?: number;
  /** For 'wraps': where the data written at `firstBad` turned up. */
  wrapsTo?: number;
  /** For 'loses': what the first bad block did ('dropped': read back other data; 'write-failed'; 'read-failed'). */
  failure?: 'dropped' | 'write-failed' | 'read-failed';
  /**
   * For 'loses': a test block past the first bad one that kept its data. The drive then has bad
   * blocks (it is failing), rather than storing less than it claims.
   */
  laterKept?: number;
  /** For 'read-failed': the block could not be read even before a test block was written there. */
  unreadable?: boolean;
  /** Spacing of the test blocks: a wrap at a multiple of it is found. */
  step: number;
  probes: number;
  /** False when some original bytes could not be written back (the drive failed there). */
  restored: boolean;
  durationMs: number;
}

/** How a backup file is compressed, decided by its name (electron/engine/backup.ts). */
export type BackupCompression = 'none' | 'gzip' | 'zstd' | 'xz';

/** Copy a whole drive into an image file. */
export interface BackupJob {
  device: string;
  /** NAME.img, NAME.img.gz, NAME.img.zst or NAME.img.xz; must not exist yet. */
  output: string;
  /** Decompress the saved file again and compare it with what was read (default on in the CLI). */
  verify: boolean;
}

export interface BackupResult {
  device: string;
  output: string;
  compression: BackupCompression;
  /** Bytes read from the drive: the image's size. */
  imageSize: number;
  /** Size of the saved file. */
  storedSize: number;
  /** SHA-256 of the image (what the drive held), also written to OUTPUT.sha256. */
  sha256: string;
  verified: boolean;
  durationMs: number;
}
