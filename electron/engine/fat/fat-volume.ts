// Editing files in the root directory of a FAT12/16/32 filesystem that starts at a byte offset of
// a device or image, without mounting it: enough to drop configuration files (ssh, userconf.txt,
// user-data…) into a freshly written Raspberry Pi OS boot partition from plain Node.
//
// Each operation reads the directory and FAT afresh and writes in an order that keeps the volume
// consistent if it stops midway: file data first, then every FAT copy, then the directory entry,
// and only then are a replaced file's old clusters freed. A stop in between leaves lost clusters
// (which fsck reclaims), never an entry pointing at someone else's or unwritten data.

import { parseBootSector, type FatLayout, type FatType } from './boot-sector';
import { FatError } from './fat-error';
import { FatTable } from './fat-table';
import { fatStamp, fromFatStamp } from './fat-time';
import { ATTR_DIRECTORY, ATTR_VOLUME_LABEL, clusterOffset, RootDirectory, SLOT, type DirectoryRecord } from './root-directory';
import { IO_SECTOR, type SectorIO } from './sector-io';
import { checkLongName, isPlainShortName, longNameEntries, makeShortName, shortNameChecksum, shortNameText } from './short-names';

const ATTR_ARCHIVE = 0x20;
const MAX_FILE_SIZE = 0xffffffff;

export interface FatEntry {
  /** The long name, or the short one as it reads when there is none. */
  name: string;
  /** The 8.3 name ("BASE.EXT", capitals). */
  shortName: string;
  size: number;
  isDirectory: boolean;
  attributes: number;
  modified: Date | undefined;
}

export interface FatVolumeOptions {
  /** The clock for timestamps (tests pass a fixed one). */
  now?: () => Date;
  /**
   * Bytes the volume may occupy (its partition's size): a boot sector claiming more is refused,
   * so a damaged one cannot send writes into the next partition.
   */
  size?: number;
}

export class FatVolume {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly io: SectorIO,
    private readonly offset: number,
    readonly layout: FatLayout,
    private readonly now: () => Date,
  ) {}

  /** Opens the FAT filesystem whose boot sector is at byte `offset` (a multiple of 512). */
  static async open(io: SectorIO, offset = 0, options: FatVolumeOptions = {}): Promise<FatVolume> {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % IO_SECTOR !== 0) throw new FatError(`A FAT volume offset must be a multiple of 512 bytes, not ${offset}`);
    const sector = Buffer.alloc(IO_SECTOR);
    await io.read(sector, offset);
    const layout = parseBootSector(sector);
    if (options.size !== undefined && layout.volumeBytes > options.size) {
      throw new FatError(`The FAT filesystem claims ${layout.volumeBytes} bytes but its partition has ${options.size}`);
    }
    const volume = new FatVolume(io, offset, layout, options.now ?? (() => new Date()));
    if (layout.fsInfoAt !== undefined) await volume.readFsInfo(); // refuse a damaged FSInfo now, not after a write
    return volume;
  }

  get type(): FatType {
    return this.layout.type;
  }

  /** Runs operations one at a time: each reads the directory and FAT afresh. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async open(): Promise<{ fat: FatTable; root: RootDirectory }> {
    const fat = new FatTable(this.io, this.offset, this.layout);
    return { fat, root: await RootDirectory.load(this.io, this.offset, this.layout, fat) };
  }

  list(): Promise<FatEntry[]> {
    return this.exclusive(async () => {
      const { root } = await this.open();
      return root
        .records()
        .filter((r) => !(r.attributes & ATTR_VOLUME_LABEL))
        .map((r) => {
          const entry = root.slot(r.shortSlot);
          return {
            name: r.longName ?? r.shortDisplay,
            shortName: r.shortName,
            size: r.size,
            isDirectory: (r.attributes & ATTR_DIRECTORY) !== 0,
            attributes: r.attributes,
            modified: fromFatStamp(entry.readUInt16LE(24), entry.readUInt16LE(22)),
          };
        });
    });
  }

  readFile(name: string): Promise<Buffer> {
    return this.exclusive(async () => {
      const { fat, root } = await this.open();
      const record = findFile(root, name, 'read');
      if (!record) throw new FatError(`No file named "${name}" in the root directory`);
      const data = Buffer.alloc(record.size);
      if (record.size === 0) return data;
      const what = `"${displayName(record)}"`;
      if (record.firstCluster === 0) throw new FatError(`${what} has ${record.size} bytes but no clusters`);
      const chain = await fat.chain(record.firstCluster, what);
      const needed = Math.ceil(record.size / this.layout.bytesPerCluster);
      if (chain.length < needed) throw new FatError(`${what} has ${record.size} bytes but its FAT chain has only ${chain.length} clusters (${needed} needed)`);
      await this.transferClusters(chain.slice(0, needed), data, 'read');
      return data;
    });
  }

  /** Creates `name` in the root directory, or replaces its content when it exists (any case). */
  writeFile(name: string, content: Uint8Array): Promise<void> {
    return this.exclusive(async () => {
      checkLongName(name);
      if (content.length > MAX_FILE_SIZE) throw new FatError(`"${name}" is ${content.length} bytes: a FAT file holds at most 4 GiB - 1`);
      const { fat, root } = await this.open();
      const existing = findFile(root, name, 'write');
      const oldChain = existing && existing.firstCluster !== 0 ? await fat.chain(existing.firstCluster, `"${displayName(existing)}"`) : [];
      const stamp = fatStamp(this.now());

      // The directory first: a full FAT12/16 root must fail before anything is written.
      let entry: Buffer;
      let shortSlot: number;
      let newSlots: number[] = [];
      // A new spelling of the same name renames the file; a match on its short name does not.
      const current = existing && (existing.longName ?? existing.shortDisplay);
      if (existing && current !== undefined && (current === name || foldCase(current) !== foldCase(name))) {
        shortSlot = existing.shortSlot;
        entry = Buffer.from(root.slot(shortSlot));
      } else {
        entry = Buffer.alloc(SLOT);
        if (existing) {
          // Same file, new spelling: keep its attributes and creation time under the new name.
          root.slot(existing.shortSlot).copy(entry, 11, 11, 20);
          root.markDeleted(existing);
        } else {
          entry[11] = 0;
          entry[13] = stamp.tenths;
          entry.writeUInt16LE(stamp.time, 14);
          entry.writeUInt16LE(stamp.date, 16);
        }
        entry[12] = 0; // no NT lower-case bits: a name that is not plain upper case gets a long name
        const taken = new Set(root.records().map((r) => root.slot(r.shortSlot).toString('latin1', 0, 11)));
        const short = makeShortName(name, taken);
        short.copy(entry, 0);
        // Only a plain 8.3 name that got itself as short name (not a ~N one) can do without a long name.
        const set = isPlainShortName(name) && shortNameText(short) === name ? [] : longNameEntries(name, shortNameChecksum(short));
        shortSlot = await this.placeEntries(root, fat, [...set, entry]);
        newSlots = Array.from({ length: set.length + 1 }, (_, i) => shortSlot - set.length + i);
      }

      const needed = Math.ceil(content.length / this.layout.bytesPerCluster);
      let chain: number[];
      let oldFreed = false;
      if ((await fat.countFree(needed)) >= needed) {
        chain = await fat.allocate(needed);
      } else {
        // Not room for old and new at once: reuse the old clusters (a stop midway loses the file).
        await fat.release(oldChain);
        oldFreed = true;
        chain = await fat.allocate(needed);
      }
      await this.transferClusters(chain, Buffer.from(content.buffer, content.byteOffset, content.length), 'write');

      entry[11] = (entry[11] ?? 0) | ATTR_ARCHIVE;
      entry.writeUInt16LE(stamp.date, 18);
      entry.writeUInt16LE(Math.floor((chain[0] ?? 0) / 0x10000), 20);
      entry.writeUInt16LE(stamp.time, 22);
      entry.writeUInt16LE(stamp.date, 24);
      entry.writeUInt16LE((chain[0] ?? 0) & 0xffff, 26);
      entry.writeUInt32LE(content.length, 28);
      root.setSlot(shortSlot, entry);

      await root.writeGrowth();
      await fat.flush();
      await root.flush(newSlots);
      if (!oldFreed && oldChain.length) {
        await fat.release(oldChain);
        await fat.flush();
      }
      await this.updateFsInfo(fat.freeDelta);
    });
  }

  deleteFile(name: string): Promise<void> {
    return this.exclusive(async () => {
      const { fat, root } = await this.open();
      const record = findFile(root, name, 'delete');
      if (!record) throw new FatError(`No file named "${name}" in the root directory`);
      const chain = record.firstCluster !== 0 ? await fat.chain(record.firstCluster, `"${displayName(record)}"`) : [];
      root.markDeleted(record);
      await root.flush();
      await fat.release(chain);
      await fat.flush();
      await this.updateFsInfo(fat.freeDelta);
    });
  }

  /** Puts an entry set in the first run of free slots (growing a FAT32 root); returns the last slot. */
  private async placeEntries(root: RootDirectory, fat: FatTable, entries: Buffer[]): Promise<number> {
    const oldEnd = endOfDirectory(root);
    let start = root.findFree(entries.length);
    if (start === undefined) {
      if (this.layout.type !== 32) {
        throw new FatError(`The root directory is full: its ${this.layout.rootEntries} entries are used (FAT${this.layout.type} cannot grow it)`);
      }
      await root.grow(entries.length, fat);
      start = root.findFree(entries.length) as number;
    }
    entries.forEach((entry, i) => root.setSlot(start + i, entry));
    const after = start + entries.length;
    // Past the old end marker every slot counts as free even if not zeroed: mark the new end.
    if (after > oldEnd && after < root.slotCount && root.slot(after)[0] !== 0) {
      const marker = Buffer.from(root.slot(after));
      marker[0] = 0;
      root.setSlot(after, marker);
    }
    return after - 1;
  }

  /** Reads or writes `data` across the clusters of `chain`, one I/O per contiguous run. */
  private async transferClusters(chain: readonly number[], data: Buffer, direction: 'read' | 'write'): Promise<void> {
    const size = this.layout.bytesPerCluster;
    for (let i = 0; i < chain.length; ) {
      let run = 1;
      while (i + run < chain.length && chain[i + run] === (chain[i] as number) + run) run++;
      const position = this.offset + clusterOffset(this.layout, chain[i] as number);
      const from = i * size;
      const bytes = Math.min(run * size, data.length - from);
      // Whole sectors only: a last partial sector goes through its own zero-padded buffer.
      const whole = bytes - (bytes % this.layout.bytesPerSector);
      if (whole > 0) await this.io[direction](data.subarray(from, from + whole), position);
      if (whole < bytes) {
        const tail = Buffer.alloc(this.layout.bytesPerSector);
        if (direction === 'write') {
          data.copy(tail, 0, from + whole, from + bytes);
          await this.io.write(tail, position + whole);
        } else {
          await this.io.read(tail, position + whole);
          tail.copy(data, from + whole, 0, bytes - whole);
        }
      }
      i += run;
    }
  }

  private async readFsInfo(): Promise<Buffer> {
    const sector = Buffer.alloc(this.layout.bytesPerSector);
    await this.io.read(sector, this.offset + (this.layout.fsInfoAt as number));
    if (sector.readUInt32LE(0) !== 0x41615252 || sector.readUInt32LE(484) !== 0x61417272 || sector.readUInt32LE(508) !== 0xaa550000) {
      throw new FatError('Not a usable FAT32 filesystem: its FSInfo sector lacks its signatures');
    }
    return sector;
  }

  /** Keeps FSInfo's free count right (or unknown, 0xFFFFFFFF, if it was unknown or wrong). */
  private async updateFsInfo(freeDelta: number): Promise<void> {
    if (this.layout.fsInfoAt === undefined || freeDelta === 0) return;
    const sector = await this.readFsInfo();
    const free = sector.readUInt32LE(488);
    const next = free + freeDelta;
    sector.writeUInt32LE(free === 0xffffffff || next < 0 || next > this.layout.clusterCount ? 0xffffffff : next, 488);
    // The next-free hint only says where to start looking; "unknown" is always correct.
    sector.writeUInt32LE(0xffffffff, 492);
    await this.io.write(sector, this.offset + (this.layout.fsInfoAt as number));
  }
}

function displayName(record: DirectoryRecord): string {
  return record.longName ?? record.shortDisplay;
}

/** The entry named `name` (long or short name, any case); refuses directories and labels. */
function findFile(root: RootDirectory, name: string, verb: string): DirectoryRecord | undefined {
  const wanted = foldCase(name);
  const record = root
    .records()
    .filter((r) => !(r.attributes & ATTR_VOLUME_LABEL))
    .find((r) => (r.longName !== undefined && foldCase(r.longName) === wanted) || r.shortName === wanted);
  if (record && record.attributes & ATTR_DIRECTORY) throw new FatError(`Cannot ${verb} "${displayName(record)}": it is a directory`);
  return record;
}

/**
 * Upper case letter by letter, as FAT compares names: 'ß' stays 'ß' (not 'SS'), so "straße" and
 * "strasse" remain two files, as they are on Windows.
 */
function foldCase(name: string): string {
  return [...name].map((c) => (c.toUpperCase().length === 1 ? c.toUpperCase() : c)).join('');
}

/** Index of the first never-used slot (0x00), or the slot count when there is none. */
function endOfDirectory(root: RootDirectory): number {
  for (let i = 0; i < root.slotCount; i++) if (root.slot(i)[0] === 0) return i;
  return root.slotCount;
}
