// Finding the .bmap for a job: the one the job names, or one beside the image the way bmaptool
// looks (IMAGE.bmap, then with each suffix stripped: foo.img.xz → foo.img.xz.bmap, foo.img.bmap,
// foo.bmap). Only images on disk are looked beside; a URL job must name its map explicitly.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../../shared/errors';
import type { FlashJob } from '../../../shared/flash-types';
import type { SourceReader } from '../sources/source';
import type { WritePlanner } from '../write-planner';
import { readBmap } from './bmap-file';
import { BmapPlanner } from './bmap-planner';

export function bmapCandidates(imagePath: string): string[] {
  const dir = path.dirname(imagePath);
  let name = path.basename(imagePath);
  const out: string[] = [];
  for (;;) {
    out.push(path.join(dir, `${name}.bmap`));
    const ext = path.extname(name);
    if (ext === '' || ext === name) break;
    name = name.slice(0, -ext.length);
  }
  return out;
}

export async function findBmapBeside(imagePath: string): Promise<string | undefined> {
  for (const candidate of bmapCandidates(imagePath)) {
    const stat = await fsp.stat(candidate).catch(() => undefined);
    if (stat?.isFile()) return candidate;
  }
  return undefined;
}

/** Planner factory: a BmapPlanner when the job has a map, undefined when it has none. */
export async function bmapPlannerFor(job: FlashJob, source: SourceReader): Promise<WritePlanner | undefined> {
  if (job.options.bmapPath === null) return undefined;
  let bmapPath = job.options.bmapPath;
  if (bmapPath === undefined) {
    if (job.source.kind !== 'file') return undefined;
    bmapPath = await findBmapBeside(job.source.path);
    if (bmapPath === undefined) return undefined;
  }
  const bmap = await readBmap(bmapPath);
  const size = source.info.size;
  if (size !== undefined && size !== bmap.imageSize) {
    throw new BlockwiseError(
      'BMAP_INVALID',
      `${source.info.name} is ${size} bytes, but the block map ${bmapPath} describes an image of ${bmap.imageSize} bytes: it belongs to another image. Nothing was written.`,
      { path: bmapPath },
    );
  }
  return new BmapPlanner(bmap, source.info.name);
}
