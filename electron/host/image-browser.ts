// A folder listing for hosts without a native file dialog (the browser host). It lists what the
// privileged side can see, so it shows only names and sizes; the image is opened by the engine.

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowseEntry, RequestResult } from '../../shared/contract';
import { BlockwiseError } from '../../shared/errors';

const MAX_ENTRIES = 2000;

export async function browseFolder(dir: string | undefined, startDir: string = os.homedir()): Promise<RequestResult<'image.browse'>> {
  const target = path.resolve(dir ?? startDir);
  let names: import('node:fs').Dirent[];
  try {
    names = await fsp.readdir(target, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'ENOTDIR' ? 'it is not a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new BlockwiseError('SOURCE_UNREADABLE', `Cannot list ${target}: ${why}.`, { path: target, syscode: code });
  }
  const entries: BrowseEntry[] = [];
  for (const d of names) {
    if (d.name.startsWith('.')) continue; // dotfiles: config, caches; never images people pick
    const full = path.join(target, d.name);
    // Follow symlinks so a link to an image or a folder behaves like its target.
    const stat = await fsp.stat(full).catch(() => undefined);
    if (!stat) continue;
    if (stat.isDirectory()) entries.push({ name: d.name, path: full, kind: 'dir' });
    else if (stat.isFile()) entries.push({ name: d.name, path: full, kind: 'file', size: stat.size });
    if (entries.length >= MAX_ENTRIES) break;
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name, 'en', { numeric: true }) : a.kind === 'dir' ? -1 : 1));
  const parent = path.dirname(target);
  return parent === target ? { dir: target, entries } : { dir: target, parent, entries };
}
