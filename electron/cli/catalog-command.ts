// `blockwise catalog [URL] [--json]`: the images a catalog lists (Raspberry Pi's unless another is
// given), each with the address and SHA-256 to flash it by:
//   blockwise flash URL --sha256 HEX --to DEVICE

import { parseArgs } from 'node:util';
import { flattenCatalog, DEFAULT_CATALOG_URL, type CatalogEntry } from '../../shared/catalog';
import { formatBytes } from '../../shared/format-bytes';
import { fetchCatalog } from '../host/catalog';
import { emitJson } from './report';
import { UsageError } from './usage-error';

export async function catalogCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length > 1) throw new UsageError('catalog takes at most one URL, the catalog to list (default: Raspberry Pi’s)');
  const address = positionals[0]?.trim() ?? DEFAULT_CATALOG_URL;
  if (!/^https?:\/\/[^/]/i.test(address)) throw new UsageError(`${address}: a catalog is read from an http:// or https:// address`);
  const catalog = await fetchCatalog(address);
  if (values.json) {
    emitJson({ type: 'catalog', catalog });
    return;
  }
  const lines: string[] = [];
  for (const { path, entry } of flattenCatalog(catalog.entries)) {
    lines.push(path.join(' › '));
    if (entry.description) lines.push(`  ${entry.description}`);
    if (entry.url) {
      const facts = [entry.releaseDate, entry.downloadSize !== undefined ? `${formatBytes(entry.downloadSize)} download` : undefined, entry.imageSize !== undefined ? `${formatBytes(entry.imageSize)} image` : undefined];
      const shown = facts.filter(Boolean).join(', ');
      if (shown) lines.push(`  ${shown}`);
      lines.push(`  blockwise flash ${quoted(entry.url)}${entry.sha256 ? ` --sha256 ${entry.sha256}` : ''} --to DEVICE`);
    } else if (entry.childrenUrl) lines.push(`  more in another catalog: blockwise catalog ${quoted(entry.childrenUrl)}`);
    lines.push('');
  }
  const skipped = catalog.skipped > 0 ? `\n${catalog.skipped} entr${catalog.skipped === 1 ? 'y' : 'ies'} left out: no http(s) image address Blockwise can write.` : '';
  process.stdout.write(`${lines.join('\n')}${countLine(catalog.entries, catalog.url)}${skipped}\n`);
}

function countLine(entries: CatalogEntry[], url: string): string {
  const images = flattenCatalog(entries).filter((f) => f.entry.url).length;
  return `${images} image${images === 1 ? '' : 's'} in ${url}`;
}

/** For a shell: addresses with characters it would take apart get single quotes. */
function quoted(url: string): string {
  return /^[\w@%+=:,./?&#~-]+$/.test(url) && !/[?&#~]/.test(url) ? url : `'${url.replace(/'/g, "'\\''")}'`;
}
