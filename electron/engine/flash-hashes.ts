// Which SHA-256s a flash takes, and where. SHA-256 costs a whole core (~1.8 GB/s here), as much
// as a fast drive takes data, so it is only taken where it is needed, and off the write's path
// where it can be:
// - A checksum is known: the image's SHA-256 is taken while writing (in step with it), the
//   stored file's beside it; both are ready before the head is written, so a mismatch never
//   leaves a bootable drive.
// - No checksum: the SHA-256 of the file the user chose, to compare by hand with what its
//   publisher lists. A local file (a raw image file written whole or nearly, or a compressed/zip/
//   tar file as a whole) is hashed by a thread that reads the file itself at the lowest CPU priority:
//   it takes what the write leaves (on a card or stick, everything it needs), pauses during
//   readback, and the flash waits at the end for whatever is left. Hashed in step with a dense
//   write it slowed a RAM-backed write to 0.6–0.8× dd. A raw image written sparsely is hashed in
//   step with the write instead: the write is then mostly reading, the hash keeps up with it, and
//   deferring it made a bmap flash wait 0.5 s per GiB at the end (1.19× bmaptool instead of
//   0.85–0.98). So is a drive being cloned: a second reader would compete with the writer for the
//   source device. A download's bytes are hashed as they arrive (the network sets the pace).
//   The decompressed image inside a compressed file is not hashed: nobody publishes that hash
//   without a catalog, and a catalog's checksum takes the first path.

import { BlockwiseError } from '../../shared/errors';
import type { ResolvedChecksum } from './checksum';
import { hashFileInBackground, type BackgroundFileHash } from './image-hasher';
import type { SourceReader } from './sources/source';

export interface FlashHashes {
  /** The pipeline hashes the image as it writes it (its digest comes with the written result). */
  readonly inPipeline: boolean;
  /** The image's SHA-256 from the background hash of a raw file; undefined without one. */
  imageSha256(): Promise<string | undefined>;
  /** The stored file's SHA-256 (background hash, or the download's), when it differs from the image. */
  fileSha256(): Promise<string | undefined>;
  /**
   * Starts the background hashing threads (idempotent; asking for a digest starts them too). The
   * flash calls it once the first write is on its way: a thread takes 40–50 ms of a core to start,
   * and before the first write that core is the one checking the drive and decoding the first chunk.
   */
  start(): void;
  /** Holds the background hashing (while the drive is read back); asking for a digest resumes it. */
  pause(): void;
  close(): Promise<void>;
}

function digestOf(hash: BackgroundFileHash, path: string): Promise<string> {
  return hash.digest().catch((error: Error & { offset?: number }) => {
    throw new BlockwiseError('SOURCE_UNREADABLE', `Could not read ${path} to compute its SHA-256 (${error.message}).`, {
      path,
      offset: error.offset ?? 0,
      driveIncomplete: true,
    });
  });
}

/** The SHA-256s a flash shows at its end, and why one is missing where it could not be taken. */
export interface ShownDigests {
  imageSha256?: string;
  fileSha256?: string;
  sha256Unavailable?: string;
}

/**
 * Gathers the SHA-256s once the drives are written (and read back): `inPipeline` is the one the
 * write took. A background hash that fails then (its file became unreadable) costs only its line
 * in the result, said with the reason: the drives hold the image and were checked, so the flash
 * is not failed and no drive is called incomplete for it.
 */
export async function shownDigests(hashes: FlashHashes, inPipeline: string | undefined): Promise<ShownDigests> {
  const shown: ShownDigests = {};
  const settle = (digest: Promise<string | undefined>) =>
    digest.catch((error: unknown) => {
      shown.sha256Unavailable ??= error instanceof Error ? error.message : String(error);
      return undefined;
    });
  const image = inPipeline ?? (await settle(hashes.imageSha256()));
  const file = await settle(hashes.fileSha256());
  if (image) shown.imageSha256 = image;
  if (file) shown.fileSha256 = file;
  return shown;
}

/** `denseWrite`: the write covers (nearly) the whole image, so it keeps the cores busy by itself. */
export function planHashes(source: SourceReader, checksum: ResolvedChecksum | undefined, denseWrite: boolean): FlashHashes {
  const raw = source.backingFile;
  const stored = source.storedFile;
  // A raw file's stored bytes are the image: one hash serves both.
  const hashImageFile = !checksum && denseWrite && raw !== undefined && source.info.size !== undefined;
  let imageHash: BackgroundFileHash | undefined;
  let fileHash: BackgroundFileHash | undefined;
  let started = false;
  let closed = false;
  const start = () => {
    if (started || closed) return;
    started = true;
    if (hashImageFile) imageHash = hashFileInBackground(raw.path, raw.offset, source.info.size!);
    if (stored) fileHash = hashFileInBackground(stored.path, 0, stored.size);
  };
  // A raw download is hashed as it arrives (storedSha256): that is the image's SHA-256 too.
  const rawDownload = source.info.formats[0] === 'raw' && !raw && !stored && typeof source.storedSha256 === 'function';
  // Otherwise a raw image is hashed in step with the write. (Where its thread then fails to start,
  // which worker_threads only does when out of resources, the result shows no SHA-256.)
  const inPipeline = checksum !== undefined || (source.info.formats[0] === 'raw' && !hashImageFile && !rawDownload);
  return {
    inPipeline,
    start,
    imageSha256: async () => {
      start();
      return imageHash && raw ? digestOf(imageHash, raw.path) : rawDownload ? source.storedSha256!() : undefined;
    },
    fileSha256: async () => {
      start();
      return fileHash && stored ? digestOf(fileHash, stored.path) : source.storedSha256?.();
    },
    pause: () => {
      imageHash?.pause();
      fileHash?.pause();
    },
    close: async () => {
      closed = true;
      await Promise.all([imageHash?.close(), fileHash?.close()]);
    },
  };
}
