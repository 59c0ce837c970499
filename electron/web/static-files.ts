// Serves the built renderer (dist/renderer) and nothing else: no directory listings, no path
// escapes, unknown paths fall back to index.html only for page routes, never for assets.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticFile {
  file: string;
  type: string;
}

/** Maps a URL path to a file under `root`, or undefined (→ 404). */
export async function resolveStatic(root: string, urlPath: string): Promise<StaticFile | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = path.resolve(root, relative);
  if (file !== root && !file.startsWith(root + path.sep)) return undefined;
  const stat = await fsp.stat(file).catch(() => undefined);
  if (stat?.isFile()) return { file, type: TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream' };
  // A page route (no extension) gets the app; a missing asset is a plain 404.
  if (path.extname(relative) === '') {
    const index = path.join(root, 'index.html');
    if (await fsp.stat(index).then((s) => s.isFile(), () => false)) return { file: index, type: TYPES['.html']! };
  }
  return undefined;
}
