// Turns a SourceSpec into a reader of the decompressed image, deciding the format by content.

import { constants, fstatSync, openSync, promises as fsp, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../../shared/errors';
import type { SourceSpec } from '../../../shared/flash-types';
import { deviceGeometry } from '../targets/device-geometry';
import { advised, detectFormat, misnamedRawReason, unsupportedMessage } from './detect';
import { looksLikeImageName } from './image-names';
import { fdHandle, FileSource, type ReadHandle } from './file-source';
import type { SourceFormat, SourceReader } from './source';
import { watchForTruncation } from './stream-truncation';
import { checkRawImageComplete } from './truncation-check';
import { vmDiskFromTrailer } from './vm-disks';

/** Opens a decoder for a compressed/archived file; registered per format by the sources module. */
export type FileDecoderFactory = (filePath: string, size: number, spec: SourceSpec) => Promise<SourceReader>;

const fileDecoders = new Map<SourceFormat, FileDecoderFactory>();

export function registerFileDecoder(format: SourceFormat, factory: FileDecoderFactory): void {
  fileDecoders.set(format, factory);
}

const HEAD_BYTES = 65536;

/** Opens an http(s) source; registered by sources/url-register.ts (kept out of here: no cycle). */
export type UrlOpener = (spec: Extract<SourceSpec, { kind: 'url' }>) => Promise<SourceReader>;
let urlOpener: UrlOpener | undefined;

export function registerUrlOpener(opener: UrlOpener): void {
  urlOpener = opener;
}

export interface OpenSourceOptions {
  /** Awaited before a local file's decoder starts, with the format the file's first bytes told. */
  beforeDecoding?: (format: SourceFormat) => Promise<void> | undefined;
}

export async function openSource(spec: SourceSpec, options: OpenSourceOptions = {}): Promise<SourceReader> {
  if (spec.kind !== 'file') {
    if (urlOpener) return urlOpener(spec);
    throw new BlockwiseError('SOURCE_UNSUPPORTED', `Cannot open ${spec.url}: downloading images is not supported by this build.`);
  }
  return openFileSource(spec.path, spec, options);
}

/**
 * Refuses what is not a file of bytes at rest, before opening it: opening a FIFO waits for a writer
 * forever. True for a regular file.
 */
async function refuseSpecialFile(filePath: string): Promise<boolean> {
  let stat: Stats | undefined;
  try {
    stat = statSync(filePath);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) throw await folderRefusal(filePath);
  if (!stat || stat.isFile() || stat.isBlockDevice()) return stat?.isFile() === true;
  const kind = stat.isFIFO() ? 'a named pipe (FIFO)' : stat.isCharacterDevice() ? 'a character device' : stat.isSocket() ? 'a socket' : 'not a regular file';
  throw new BlockwiseError('SOURCE_NOT_IMAGE', `${filePath} is ${kind}, not an image file: it has no fixed size to write. Save the image to a file and pick that.`, {
    path: filePath,
  });
}

/** A folder picked as the image (an archive extracted, say): name the images in it, if any. */
async function folderRefusal(folder: string): Promise<BlockwiseError> {
  const names = await fsp.readdir(folder).catch(() => [] as string[]);
  const images = names.filter(looksLikeImageName).sort();
  const more = images.length > 5 ? `, and ${images.length - 5} more` : '';
  const inside =
    images.length === 0
      ? ''
      : images.length === 1
        ? `; the image in it is probably ${images[0]}: pick that file`
        : `; it holds ${images.slice(0, 5).join(', ')}${more}: pick one of these files`;
  // isFolder: a file browser that was handed a folder's path (typed without its final slash) opens it instead.
  return new BlockwiseError('SOURCE_NOT_IMAGE', `${folder} is a folder, not an image file${inside}.`, { path: folder, isFolder: true });
}

/**
 * Files beside a missing image that are likely what was meant: the name with or without a
 * compression suffix (os.img typed, os.img.xz downloaded), or in another case (OS.IMG).
 */
const SIDECAR = /\.(sha256|sha256sum|sha|sha1|md5|bmap|asc|sig|gpg|torrent|json|partial|crdownload|part)$/;

function nearMisses(filePath: string): string[] {
  const folder = path.dirname(filePath);
  const name = path.basename(filePath).toLowerCase();
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  const near = names.filter((n) => {
    const lower = n.toLowerCase();
    if (SIDECAR.test(lower)) return false;
    return lower === name || lower.startsWith(`${name}.`) || name.startsWith(`${lower}.`);
  });
  return near.slice(0, 3).map((n) => path.join(folder, n));
}

async function openFileSource(filePath: string, spec: SourceSpec, options: OpenSourceOptions): Promise<SourceReader> {
  const regularFile = await refuseSpecialFile(filePath);
  let handle: ReadHandle;
  try {
    // A regular file is opened at once: through libuv's pool its open waited behind the drives'
    // checks, and the decoder (and so the first write) started ~4 ms later. O_NONBLOCK: should it
    // have become a FIFO since, the open does not wait for a writer. A drive (cloning) may be slow
    // to answer, so it is opened through the pool.
    handle = regularFile ? fdHandle(openSync(filePath, constants.O_RDONLY | constants.O_NONBLOCK)) : await fsp.open(filePath, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const said: Record<string, string> = {
      ENOENT: 'it does not exist',
      EACCES: 'permission denied',
      ELOOP: 'its symbolic links lead round in a circle',
      ENOTDIR: 'a part of its path is a file, not a folder',
    };
    const why = said[code ?? ''] ?? (error as Error).message;
    const near = code === 'ENOENT' ? nearMisses(filePath) : [];
    const hint = near.length > 0 ? ` (beside it: ${near.join(', ')}; did you mean ${near.length === 1 ? 'that' : 'one of these'}?)` : '';
    throw new BlockwiseError('SOURCE_UNREADABLE', `Cannot open image ${filePath}: ${why}${hint}.`, { path: filePath, syscode: code });
  }
  try {
    // The file's size and first bytes, read without waiting in line on libuv's pool: a flash's
    // first write waits on them (the decoder starts only once they tell the format), and each
    // awaited call took milliseconds on two busy cores.
    const stat = fstatSync(handle.fd);
    const size = stat.isBlockDevice() ? await blockDeviceSize(filePath) : stat.size;
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    if (head.length > 0) await readHeadOf(handle, head, stat.isFile());
    const detected = detectFormat(head, size);
    const name = path.basename(filePath);
    switch (detected.kind) {
      case 'empty':
        throw new BlockwiseError('SOURCE_EMPTY', `${name} is empty (0 bytes).`, { path: filePath });
      case 'text': {
        const html = /<html|<!doctype html/i.test(head.toString('utf8', 0, 1024));
        throw new BlockwiseError(
          'SOURCE_NOT_IMAGE',
          html ? `${name} is a web page (HTML), not a disk image.` : `${name} is a text file, not a disk image.`,
          { path: filePath, offset: 0 },
        );
      }
      case 'unsupported':
        throw new BlockwiseError('SOURCE_UNSUPPORTED', unsupportedMessage(name, name, detected), { path: filePath, ...advised(detected) });
      case 'supported':
        break;
    }
    if (detected.format === 'raw') {
      // A fixed VHD or a .dmg looks raw from its start; its footer gives it away.
      const vmDisk = stat.isFile() && size >= 1024 ? vmDiskFromTrailer(await readAt(handle, size - 512, 512)) : undefined;
      if (vmDisk) throw new BlockwiseError('SOURCE_UNSUPPORTED', unsupportedMessage(name, name, vmDisk), { path: filePath, offset: size - 512, ...advised(vmDisk) });
      const misnamed = stat.isFile() ? misnamedRawReason(name, head) : undefined;
      if (misnamed) throw new BlockwiseError('SOURCE_CORRUPT', misnamed, { path: filePath, offset: 0 });
      if (spec.entry !== undefined) throw notAnArchive(name, spec.entry, filePath);
      const source = await FileSource.open(filePath, handle, size, stat.isFile());
      // A drive being cloned is whatever size it is; a file may be a download cut short.
      if (stat.isFile()) await checkRawImageComplete((into, at) => source.readAt(into, at), size, name, filePath);
      return source;
    }
    // Closed meanwhile: the decoder opens the file afresh and need not wait for this.
    handle.close().catch(() => undefined);
    const factory = fileDecoders.get(detected.format);
    if (!factory) {
      throw new BlockwiseError('SOURCE_UNSUPPORTED', `${name} is compressed with ${detected.format}, which this build cannot decompress.`, {
        path: filePath,
      });
    }
    await options.beforeDecoding?.(detected.format);
    const reader = await factory(filePath, size, spec);
    watchForTruncation(reader, name, filePath);
    return reader;
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** A regular file's start, read synchronously; a drive's (cloning) through the pool: a drive may be slow to answer. */
async function readHeadOf(handle: ReadHandle, into: Buffer, isFile: boolean): Promise<void> {
  if (!isFile) {
    await handle.read(into, 0, into.length, 0);
    return;
  }
  readSync(handle.fd, into, 0, into.length, 0);
}

async function readAt(handle: ReadHandle, position: number, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  const { bytesRead } = await handle.read(out, 0, length, position);
  return out.subarray(0, bytesRead);
}

/** An entry was asked for, but the image holds no archive to take it from: writing it anyway would be a guess. */
export function notAnArchive(name: string, entry: string, where: string): BlockwiseError {
  return new BlockwiseError('ARCHIVE_ENTRY_NOT_FOUND', `${name} is not an archive, so it has no entry named ${entry}.`, {
    path: where,
  });
}

/** Size of a block device used as a source (cloning a drive); sysfs on Linux. */
async function blockDeviceSize(devicePath: string): Promise<number> {
  return (await deviceGeometry(devicePath)).size;
}
