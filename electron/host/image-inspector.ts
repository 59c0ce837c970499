// What the renderer shows about a chosen image: name, format (by content), sizes, a .bmap beside
// it. Opens the image the way the engine will, so a file the engine would refuse is refused here,
// with the same error, before the user picks a drive.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ImageInfo } from '../../shared/contract';
import { findPublishedChecksum } from '../engine/checksum-files';
import { inspectImage as inspectWithEngine } from '../engine/sources/inspect';
import '../engine/sources/register';

async function exists(file: string): Promise<boolean> {
  return fsp.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** bmaptool's naming: image.img.bmap, or the compressed name's stem (image.img.xz → image.bmap / image.img.bmap). */
export function bmapCandidates(imagePath: string): string[] {
  const out = [`${imagePath}.bmap`];
  let stem = imagePath;
  for (let i = 0; i < 2; i++) {
    const ext = path.extname(stem);
    if (!ext) break;
    stem = stem.slice(0, -ext.length);
    out.push(`${stem}.bmap`);
  }
  return [...new Set(out)];
}

/**
 * The engine's inspection (format by content, sizes, archive entries) plus a .bmap and a published
 * checksum beside the image. A per-image .sha256 without a usable hash is refused here as the
 * flash would refuse it, before the user picks a drive.
 */
export async function inspectImage(imagePath: string, entry?: string): Promise<ImageInfo> {
  const resolved = path.resolve(imagePath);
  const info = await inspectWithEngine(resolved, entry);
  for (const candidate of bmapCandidates(resolved)) {
    if (await exists(candidate)) {
      info.hasBmap = true;
      break;
    }
  }
  const published = await findPublishedChecksum(resolved);
  if (published) {
    info.checksum = published.spec.hex;
    info.checksumFile = path.basename(published.file);
  }
  return info;
}
