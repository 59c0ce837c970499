// The MBR and the chain of extended boot records that holds logical partitions.

export interface MbrEntry {
  bootable: boolean;
  type: number;
  /** First sector and sector count (512-byte sectors). */
  start: number;
  count: number;
}

export const EXTENDED_TYPES = new Set([0x05, 0x0f, 0x85]);
export const GPT_PROTECTIVE = 0xee;

/** The four entries of a boot record, or undefined when it is not one (no 55AA, bad status byte). */
export function parseBootRecord(sector: Buffer): MbrEntry[] | undefined {
  if (sector.length < 512 || sector.readUInt16LE(510) !== 0xaa55) return undefined;
  const entries: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const e = sector.subarray(446 + 16 * i, 462 + 16 * i);
    const status = e[0]!;
    const type = e[4]!;
    const count = e.readUInt32LE(12);
    if (type === 0 || count === 0) continue;
    if (status !== 0 && status !== 0x80) return undefined;
    entries.push({ bootable: status === 0x80, type, start: e.readUInt32LE(8), count });
  }
  return entries;
}
