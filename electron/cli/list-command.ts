// `blockwise list`: the drives Blockwise could write, as a table or JSON.

import { listDrives } from '../drives/scanner';
import { formatBytes } from '../../shared/format-bytes';

export async function printDrives(options: { json: boolean; all: boolean }): Promise<void> {
  const drives = await listDrives({ includeLoop: process.env.BLOCKWISE_INCLUDE_LOOP === '1' });
  const shown = options.all ? drives : drives.filter((d) => !d.system);
  if (options.json) {
    // One line, like every other --json output: a program can read it line by line.
    process.stdout.write(JSON.stringify(shown) + '\n');
    return;
  }
  if (shown.length === 0) {
    process.stdout.write(
      drives.length > 0 ? 'No removable drives found (system drives are hidden; --all shows them).\n' : 'No drives found.\n',
    );
    return;
  }
  const rows = shown.map((d) => [
    d.path,
    formatBytes(d.size),
    d.model || '-',
    d.bus,
    [d.removable ? 'removable' : '', d.readOnly ? 'read-only' : '', d.system ? 'SYSTEM' : '', d.virtual ? 'virtual' : ''].filter(Boolean).join(',') || '-',
  ]);
  const header = ['DEVICE', 'SIZE', 'MODEL', 'BUS', 'FLAGS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write([fmt(header), ...rows.map(fmt)].join('\n') + '\n');
}
