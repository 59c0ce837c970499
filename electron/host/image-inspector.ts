// What the renderer shows about a chosen image: name, format (by content), sizes, a .bmap beside
// it. Opens the image the way the engine will, so a file the engine would refuse is refused here,
// with the same error, before the user picks a drive.
// TODO: switch to electron/engine/sources/inspect.ts (archive entries, published checksums) once it lands.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ImageInfo } from '../../shared/contract';
import { openSource } from '../engine/sources/open-source';
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

export async function inspectImage(imagePath: string, entry?: string): Promise<ImageInfo> {
  const absolute = path.resolve(imagePath);
  const source = await openSource(entry ? { kind: 'file', path: absolute, entry } : { kind: 'file', path: absolute });
  try {
    const info: ImageInfo = {
      path: absolute,
      name: path.basename(absolute),
      storedSize: source.info.storedSize ?? (await fsp.stat(absolute)).size,
      formats: [...source.info.formats],
    };
    if (source.info.size !== undefined) info.imageSize = source.info.size;
    if (source.info.entry) info.entry = source.info.entry;
    for (const candidate of bmapCandidates(absolute)) {
      if (await exists(candidate)) {
        info.hasBmap = true;
        break;
      }
    }
    return info;
  } finally {
    await source.close();
  }
}
