// What the UI and CLI show before flashing: name, sizes, the format chain, and the images inside
// an archive when the user must choose. Opens the image the same way a flash does, so what is
// shown is what will be written; the hasBmap/checksum fields are filled by their own module.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ImageInfo } from '../../../shared/contract';
import { BlockwiseError } from '../../../shared/errors';
import { readRange } from './decoded-file';
import { detectFormat } from './detect';
import { openSource } from './open-source';
import { imageCandidates, readZipDirectory } from './zip-directory';

export async function inspectImage(filePath: string, entry?: string): Promise<ImageInfo> {
  const name = path.basename(filePath);
  let storedSize = 0;
  try {
    storedSize = (await fsp.stat(filePath)).size;
  } catch {
    /* openSource below reports why the file cannot be opened */
  }
  const spec = entry === undefined ? { kind: 'file' as const, path: filePath } : { kind: 'file' as const, path: filePath, entry };
  try {
    const source = await openSource(spec);
    try {
      const info: ImageInfo = { path: filePath, name, storedSize: source.info.storedSize ?? storedSize, formats: [...source.info.formats] };
      // A lower bound is what a person can be shown before reading it all (it is nearly always exact).
      const size = source.info.size ?? source.info.sizeAtLeast;
      if (size !== undefined) info.imageSize = size;
      if (source.info.entry !== undefined) info.entry = source.info.entry;
      return info;
    } finally {
      await source.close();
    }
  } catch (error) {
    // Several images in a zip or tar is not a failure here: list them so the user can choose.
    if (error instanceof BlockwiseError && error.code === 'ARCHIVE_AMBIGUOUS') {
      const head = await readRange(filePath, 0, 512);
      const detected = detectFormat(head, storedSize);
      if (detected.kind === 'supported' && detected.format === 'tar' && typeof error.details.entries === 'string') {
        return { path: filePath, name, storedSize, formats: ['tar'], entries: error.details.entries.split('\n') };
      }
      const entries = imageCandidates(await readZipDirectory(filePath, storedSize, name));
      return { path: filePath, name, storedSize, formats: ['zip'], entries: entries.map((e) => e.name) };
    }
    throw error;
  }
}
