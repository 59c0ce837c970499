// Sizes as a person reads them, the same in the app, the CLI and the drive rules' messages.
// Decimal units (GB = 10^9 bytes), as drive makers print on the label, so a "16 GB" card reads
// 16.0 GB and a 32 GB card's real 31,914,983,424 bytes read 31.9 GB.

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/**
 * A size where the exact count matters too (a drive's capacity, the byte a write stopped at):
 * 3904897024 → "3.9 GB (3,904,897,024 bytes)". Below 1000 bytes the short form is exact already.
 */
export function formatBytesExact(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  return `${formatBytes(bytes)} (${groupDigits(bytes)} bytes)`;
}

/** 3904897024 → "3,904,897,024", the same whatever the locale (the CLI's output is parsed). */
function groupDigits(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
