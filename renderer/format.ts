// Numbers as a person reads them. Sizes come from shared/format-bytes.ts (decimal units, as on
// the drive's label), so the app and the CLI say the same thing.

export { formatBytes, formatBytesExact } from '../shared/format-bytes';
export { driveLabel, driveTitle } from '../shared/drive-name';

/** 21400000 → "21.4 MB/s"; nothing measured yet → "" (callers leave the figure out, not "— MB/s"). */
export function formatSpeed(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '';
  const mb = bytesPerSecond / 1e6;
  return `${mb >= 100 ? mb.toFixed(0) : mb.toFixed(1)} MB/s`;
}

/** 75 → "1 min 15 s"; 3725 → "1 h 2 min"; 4.2 → "4 s"; 0.35 → "0.4 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 10) return `${seconds < 1 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  return rest ? `${m} min ${rest} s` : `${m} min`;
}

export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return 'estimating…';
  if (seconds < 1) return 'almost done';
  return `${formatDuration(seconds)} left`;
}

export function formatPercent(percent: number | undefined): string {
  if (percent === undefined || !Number.isFinite(percent)) return '0%';
  return `${Math.floor(Math.min(100, Math.max(0, percent)))}%`;
}

/** ['xz'] → "XZ-compressed image"; ['zip', 'raw'] → "ZIP archive"; ['raw'] → "Raw disk image". */
export function describeFormats(formats: string[]): string {
  const outer = formats[0] ?? 'raw';
  if (outer === 'raw' || outer === 'img') return 'Raw disk image';
  if (outer === 'iso') return 'ISO image';
  if (outer === 'zip') return 'ZIP archive';
  if (outer === 'tar') return 'TAR archive';
  if (formats[1] === 'tar') return `${outer.toUpperCase()}-compressed TAR archive`;
  return `${outer.toUpperCase()}-compressed image`;
}

const BUS_NAMES: Record<string, string> = {
  usb: 'USB',
  sd: 'SD card',
  sata: 'SATA',
  nvme: 'NVMe',
  scsi: 'SCSI',
  virtual: 'Virtual',
  loop: 'Loop device',
  unknown: 'Drive',
};

export function busName(bus: string): string {
  return BUS_NAMES[bus] ?? bus;
}
