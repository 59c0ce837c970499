// What every image source gives the pipeline: a pull-based reader of the *decompressed* image.
// Pull (the writer asks for the next bytes into its own aligned buffer) keeps memory bounded
// without any queue of its own: a slow drive simply asks less often.

import type { Reconnecting } from '../../../shared/flash-types';

export type SourceFormat = 'raw' | 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'zip' | 'tar';

export interface SourceInfo {
  /** What a person calls it: file name or URL. */
  name: string;
  /** Container/compression chain as detected from content, outermost first (e.g. ['zip'] or ['raw']). */
  formats: SourceFormat[];
  /** Size of the file or download as stored, when known. */
  storedSize?: number;
  /** Size of the decompressed image, when known before reading it all. */
  size?: number;
  /**
   * Where only a lower bound is known up front (a gzip trailer records the last member's size):
   * enough to refuse a drive that is too small, never taken as the size itself.
   */
  sizeAtLeast?: number;
  /** True when the stored size is the image size (uncompressed), so readAt works. */
  randomAccess: boolean;
  /** Name of the image inside an archive. */
  entry?: string;
}

export interface SourceReader {
  readonly info: SourceInfo;
  /**
   * Fill `into` from the current position with the next bytes of the image. Resolves with the
   * number of bytes placed; less than `into.length` only at the end of the image, 0 after it.
   */
  read(into: Buffer): Promise<number>;
  /**
   * How many reads may be outstanding at once (default 1: each waits for the one before). Reads
   * are still issued in order and answered in order; a decoding thread given the next buffer
   * before it finishes the last never idles between two.
   */
  readonly concurrentReads?: number;
  /** Bytes of the stored file/download consumed so far (for progress on compressed sources). */
  readonly storedPosition: number;
  /**
   * SHA-256 (hex) of the stored bytes, available after the image has been read to its end, for
   * checksums that describe the download rather than the image. Undefined for raw files (same bytes).
   */
  storedSha256?(): string | undefined;
  /**
   * The stored bytes are this whole local file (a compressed file, zip or tar on disk). Its SHA-256
   * is then taken from the file itself, beside the flash (storedSha256 stays undefined): one pass
   * over the file, whichever part of it the image came from.
   */
  readonly storedFile?: { path: string; size: number };
  /**
   * Called once the image has streamed to its end and passed its checksum (if any): a download
   * being cached may now be kept for the next flash. Until then a partial cache is discarded.
   */
  keepDownload?(): Promise<void>;
  /** Cancel was pressed: end a pending read now (it rejects with CANCELLED) instead of waiting for data. */
  abort?(): void;
  /** A download whose connection broke and is being resumed: where, and which attempt. */
  reconnecting?(): Reconnecting | undefined;
  /** A download's address after its redirects (a "latest" link, a mirror), where it differs from the one given. */
  readonly finalUrl?: string;
  /** Where the image's bytes lie unchanged in a local file (raw images), for re-reading elsewhere. */
  readonly backingFile?: { path: string; offset: number };
  /** Random access into the image, only when `info.randomAccess`. */
  readAt?(into: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}
