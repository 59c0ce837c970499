// The root directory held in memory as one buffer of 32-byte slots, whether it is FAT12/16's fixed
// region or FAT32's cluster chain, with each slot's place on disk. Entries are parsed into files
// (short entry plus the long-name entries before it); changes mark sectors dirty and flush()
// writes only those sectors.

import type { FatLayout } from './boot-sector';
import { FatError } from './fat-error';
import type { FatTable } from './fat-table';
import type { SectorIO } from './sector-io';
import { LFN_ATTRIBUTE, longNamePart, shortNameChecksum, shortNameText } from './short-names';

export const SLOT = 32;
export const ATTR_VOLUME_LABEL = 0x08;
export const ATTR_DIRECTORY = 0x10;
/** FAT32 directories may not pass 65,536 entries (2 MiB). */
const MAX_SLOTS = 65536;

export interface DirectoryRecord {
  /** Slot index of the first entry of the set (a long-name entry, or the short entry). */
  firstSlot: number;
  /** Slot index of the short entry. */
  shortSlot: number;
  /** The long name when a valid one precedes the short entry. */
  longName: string | undefined;
  /** "BASE.EXT" in capitals. */
  shortName: string;
  /** The short name as it reads (NT lower-case bits applied). */
  shortDisplay: string;
  attributes: number;
  firstCluster: number;
  size: number;
}

export class RootDirectory {
  private constructor(
    private readonly io: SectorIO,
    private readonly volumeOffset: number,
    private readonly layout: FatLayout,
    /** FAT32: the root's clusters; FAT12/16: empty. */
    readonly clusters: number[],
    private data: Buffer,
  ) {}

  private readonly dirtySectors = new Set<number>();
  private readonly newClusters = new Set<number>();

  static async load(io: SectorIO, volumeOffset: number, layout: FatLayout, fat: FatTable): Promise<RootDirectory> {
    if (layout.type !== 32) {
      const size = Math.ceil((layout.rootEntries * SLOT) / layout.bytesPerSector) * layout.bytesPerSector;
      const data = Buffer.alloc(size);
      await io.read(data, volumeOffset + layout.rootStart);
      return new RootDirectory(io, volumeOffset, layout, [], data.subarray(0, layout.rootEntries * SLOT));
    }
    const clusters = await fat.chain(layout.rootCluster, 'the root directory');
    if (clusters.length * layout.bytesPerCluster > MAX_SLOTS * SLOT) throw new FatError(`The root directory has ${clusters.length} clusters: more than a FAT directory may have`);
    const data = Buffer.alloc(clusters.length * layout.bytesPerCluster);
    for (const [i, cluster] of clusters.entries()) {
      await io.read(data.subarray(i * layout.bytesPerCluster, (i + 1) * layout.bytesPerCluster), volumeOffset + clusterOffset(layout, cluster));
    }
    return new RootDirectory(io, volumeOffset, layout, clusters, data);
  }

  get slotCount(): number {
    return this.data.length / SLOT;
  }

  slot(index: number): Buffer {
    return this.data.subarray(index * SLOT, (index + 1) * SLOT);
  }

  setSlot(index: number, entry: Uint8Array): void {
    this.slot(index).set(entry.subarray(0, SLOT));
    this.dirtySectors.add(Math.floor((index * SLOT) / this.layout.bytesPerSector));
  }

  markDeleted(record: DirectoryRecord): void {
    for (let i = record.firstSlot; i <= record.shortSlot; i++) {
      const entry = Buffer.from(this.slot(i));
      entry[0] = 0xe5;
      this.setSlot(i, entry);
    }
  }

  /** Every entry set in the directory, volume labels included; orphaned long-name entries are ignored. */
  records(): DirectoryRecord[] {
    const records: DirectoryRecord[] = [];
    let pending: { first: number; expect: number; checksum: number; parts: string[] } | undefined;
    for (let i = 0; i < this.slotCount; i++) {
      const entry = this.slot(i);
      if (entry[0] === 0x00) break;
      if (entry[0] === 0xe5) {
        pending = undefined;
        continue;
      }
      const attributes = entry[11] ?? 0;
      if ((attributes & 0x3f) === LFN_ATTRIBUTE) {
        const order = entry[0] ?? 0;
        const checksum = entry[13] ?? 0;
        if (order & 0x40) {
          pending = { first: i, expect: (order & 0x1f) - 1, checksum, parts: [longNamePart(entry)] };
        } else if (pending && (order & 0x1f) === pending.expect && checksum === pending.checksum && pending.expect > 0) {
          pending.expect--;
          pending.parts.unshift(longNamePart(entry));
        } else {
          pending = undefined;
        }
        continue;
      }
      const raw = entry.subarray(0, 11);
      const valid = pending && pending.expect === 0 && pending.checksum === shortNameChecksum(raw);
      records.push({
        firstSlot: valid && pending ? pending.first : i,
        shortSlot: i,
        longName: valid && pending ? pending.parts.join('') : undefined,
        shortName: shortNameText(raw),
        shortDisplay: shortNameText(raw, entry[12] ?? 0),
        attributes,
        firstCluster: entry.readUInt16LE(20) * 0x10000 + entry.readUInt16LE(26),
        size: entry.readUInt32LE(28),
      });
      pending = undefined;
    }
    return records;
  }

  /** The first run of `count` free slots, or undefined. */
  findFree(count: number): number | undefined {
    let run = 0;
    for (let i = 0; i < this.slotCount; i++) {
      const first = this.slot(i)[0];
      run = first === 0x00 || first === 0xe5 ? run + 1 : 0;
      if (run === count) return i - count + 1;
    }
    return undefined;
  }

  /** Free slots at the end of the directory (where a run can continue into a new cluster). */
  private freeTail(): number {
    let run = 0;
    for (let i = this.slotCount - 1; i >= 0 && (this.slot(i)[0] === 0x00 || this.slot(i)[0] === 0xe5); i--) run++;
    return run;
  }

  /** FAT32: adds zeroed clusters so that `count` free slots follow each other at the end. */
  async grow(count: number, fat: FatTable): Promise<void> {
    if (this.layout.type !== 32) throw new FatError('A FAT12/16 root directory cannot grow');
    const missing = count - this.freeTail();
    const added = Math.ceil((missing * SLOT) / this.layout.bytesPerCluster);
    if (this.data.length + added * this.layout.bytesPerCluster > MAX_SLOTS * SLOT) {
      throw new FatError(`The root directory is full: a FAT directory holds at most ${MAX_SLOTS} entries`);
    }
    const tail = await fat.allocate(added);
    await fat.append(this.clusters[this.clusters.length - 1] as number, tail);
    for (const cluster of tail) {
      this.clusters.push(cluster);
      this.newClusters.add(cluster);
    }
    this.data = Buffer.concat([this.data, Buffer.alloc(added * this.layout.bytesPerCluster)]);
  }

  /**
   * Writes the clusters grow() added, zeroed, so that once the FAT links them in they read as
   * empty slots rather than whatever the disk held. Call before the FAT is flushed.
   */
  async writeGrowth(): Promise<void> {
    const { bytesPerCluster } = this.layout;
    for (const cluster of this.clusters) {
      if (!this.newClusters.has(cluster)) continue;
      await this.io.write(Buffer.alloc(bytesPerCluster), this.volumeOffset + clusterOffset(this.layout, cluster));
    }
    this.newClusters.clear();
  }

  /**
   * Writes the sectors whose entries changed, those holding `firstSlots` first: a renamed file's
   * new entries go down before its old ones are marked deleted, so a stop between leaves a
   * duplicate for fsck to settle rather than no entry at all.
   */
  async flush(firstSlots: readonly number[] = []): Promise<void> {
    if (this.newClusters.size) throw new FatError('Internal: the root directory grew but its new clusters were not written first');
    const { bytesPerSector, bytesPerCluster } = this.layout;
    const first = firstSlots.map((slot) => Math.floor((slot * SLOT) / bytesPerSector)).filter((sector) => this.dirtySectors.has(sector));
    const order = [...new Set([...first, ...[...this.dirtySectors].sort((a, b) => a - b)])];
    for (const sector of order) {
      const byte = sector * bytesPerSector;
      const content = Buffer.alloc(bytesPerSector);
      this.data.copy(content, 0, byte, byte + bytesPerSector);
      if (this.layout.type !== 32) {
        // The fixed region's last sector may reach past the last entry: keep what is there.
        const at = this.volumeOffset + this.layout.rootStart + byte;
        if (byte + bytesPerSector > this.data.length) {
          await this.io.read(content, at);
          this.data.copy(content, 0, byte);
        }
        await this.io.write(content, at);
        continue;
      }
      const index = Math.floor(byte / bytesPerCluster);
      await this.io.write(content, this.volumeOffset + clusterOffset(this.layout, this.clusters[index] as number) + (byte % bytesPerCluster));
    }
    this.dirtySectors.clear();
  }
}

/** Byte offset of a data cluster from the start of the volume. */
export function clusterOffset(layout: FatLayout, cluster: number): number {
  return layout.dataStart + (cluster - 2) * layout.bytesPerCluster;
}
