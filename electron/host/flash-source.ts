// Turns what flash.start names (an image path or an http(s) address, an archive entry, a pasted
// SHA-256) into the engine's SourceSpec and checksum option, plus what the door check needs: the
// file the image is read from (a drive holding it must not be written) and its size when known.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { FlashStartArgs, Settings } from '../../shared/contract';
import { BlockwiseError } from '../../shared/errors';
import type { ChecksumSpec, SourceSpec } from '../../shared/flash-types';

export interface ResolvedSource {
  source: SourceSpec;
  /** What ActiveJob shows: the real path, or the address. */
  label: string;
  /** The local file the bytes come from (for a download: where the cache keeps them). */
  localPath: string;
  imageSize?: number;
}

export interface SourceDeps {
  /** Image size before writing, for the "too small" rule; undefined when unknown (compressed). */
  imageSize: (imagePath: string, entry?: string) => Promise<number | undefined>;
  /** Folder for kept downloads. */
  downloadsDir: string;
}

/**
 * Where a download of `url` is kept: one file per address, named after it so a person browsing
 * the folder recognises it, prefixed by a hash so two addresses ending alike don't collide.
 */
export function cachePathFor(url: string, downloadsDir: string): string {
  const key = createHash('sha256').update(url).digest('hex').slice(0, 16);
  const last = new URL(url).pathname.split('/').filter(Boolean).pop() ?? 'download';
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = last;
  }
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(-100) || 'download';
  return path.join(downloadsDir, `${key}-${safe}`);
}

/** A pasted SHA-256 may describe the download/file as stored or the image inside: either may match. */
export function pastedChecksum(hex: string | undefined): ChecksumSpec | undefined {
  return hex === undefined ? undefined : { algorithm: 'sha256', hex: hex.toLowerCase(), of: 'auto' };
}

export async function resolveSource(args: FlashStartArgs, settings: Settings, deps: SourceDeps): Promise<ResolvedSource> {
  const entry = args.entry !== undefined ? { entry: args.entry } : {};
  if (args.url !== undefined) {
    const cachePath = cachePathFor(args.url, deps.downloadsDir);
    return {
      source: { kind: 'url', url: args.url, ...entry, ...(settings.keepDownloads ? { cachePath } : {}) },
      label: args.url,
      localPath: cachePath,
    };
  }
  const given = args.imagePath ?? '';
  let imagePath: string;
  try {
    imagePath = await fsp.realpath(given);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BlockwiseError('SOURCE_UNREADABLE', `Cannot open image ${given}: ${code === 'ENOENT' ? 'it does not exist' : code}.`, {
      path: given,
      syscode: code,
    });
  }
  const resolved: ResolvedSource = { source: { kind: 'file', path: imagePath, ...entry }, label: imagePath, localPath: imagePath };
  const imageSize = await deps.imageSize(imagePath, args.entry);
  if (imageSize !== undefined) resolved.imageSize = imageSize;
  return resolved;
}
