// Finding the .bmap for a job: the one the job names, or one beside the image the way bmaptool
// looks (IMAGE.bmap, then with each suffix stripped: foo.img.xz → foo.img.xz.bmap, foo.img.bmap,
// foo.bmap), on disk or on the image's web server (as bmaptool does for URLs).

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlockwiseError } from '../../../shared/errors';
import type { FlashJob } from '../../../shared/flash-types';
import type { SourceReader } from '../sources/source';
import type { WritePlanner } from '../write-planner';
import { fetchSmallFile, urlSiblings } from '../sources/url-download';
import { parseBmap, readBmap, type Bmap } from './bmap-file';
import { BmapPlanner } from './bmap-planner';

/** Even a map of a huge, fragmented image is a few MiB; more is not a map. */
const MAX_BMAP_BYTES = 64 * 1024 * 1024;

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

/**
 * Whether fetched bytes are meant as a block map at all. Servers that answer every unknown address
 * with 200 (a "not found" text, the site's front page) have no map there: that is no damaged map.
 * A file that opens a <bmap> element and is broken after it still is one, and is refused.
 */
function looksLikeBmap(bytes: Buffer): boolean {
  return /<bmap[\s>]/.test(bytes.subarray(0, 8192).toString('latin1'));
}

/** A .bmap beside an image on the web, found the same way (all candidates asked at once). */
export async function fetchBmapBeside(address: string): Promise<{ url: string; bytes: Buffer } | undefined> {
  const here = urlSiblings(address);
  if (!here) return undefined;
  const urls = bmapCandidates(here.imageName).map(here.sibling);
  const found = await Promise.all(urls.map((u) => fetchSmallFile(u, MAX_BMAP_BYTES)));
  const i = found.findIndex((bytes) => bytes !== undefined && looksLikeBmap(bytes));
  return i === -1 ? undefined : { url: urls[i]!, bytes: found[i]! };
}

/** Planner factory: a BmapPlanner when the job has a map, undefined when it has none. */
export async function bmapPlannerFor(job: FlashJob, source: SourceReader): Promise<WritePlanner | undefined> {
  if (job.options.bmapPath === null) return undefined;
  let bmap: Bmap;
  if (job.options.bmapPath !== undefined) {
    bmap = await readBmap(job.options.bmapPath);
  } else if (job.source.kind === 'file') {
    const beside = await findBmapBeside(job.source.path);
    if (beside === undefined) return undefined;
    bmap = await readBmap(beside);
  } else {
    // Through a link that redirects (a "latest" link, a mirror), the map sits beside the file it leads to.
    const redirected = source.finalUrl !== undefined && source.finalUrl !== job.source.url ? source.finalUrl : undefined;
    const found = (await fetchBmapBeside(job.source.url)) ?? (redirected === undefined ? undefined : await fetchBmapBeside(redirected));
    if (found === undefined) return undefined;
    bmap = parseBmap(found.bytes, found.url);
  }
  const bmapPath = bmap.path;
  const size = source.info.size;
  if (size !== undefined && size !== bmap.imageSize) {
    throw new BlockwiseError(
      'BMAP_INVALID',
      `${source.info.name} is ${size} bytes, but the block map ${bmapPath} describes an image of ${bmap.imageSize} bytes: it belongs to another image.${job.options.readOnly ? '' : ' Nothing was written.'}`,
      { path: bmapPath },
    );
  }
  return new BmapPlanner(bmap, source.info.name, job.options.readOnly ? '' : ' The partition table was not written.');
}
