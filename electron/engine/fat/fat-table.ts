// The file allocation table: read in 32 KiB chunks as needed, changed in memory, and written back
// to every FAT copy on flush(). Chains are followed with a check at each step, so a damaged FAT
// (a loop, a link to a free or bad cluster, a cluster number past the end) stops with an error
// instead of a hang or a write to the wrong place.

import type { FatLayout } from './boot-sector';
import { FatError } from './fat-error';
import type { SectorIO } from './sector-io';

const CHUNK = 32 * 1024;

export class FatTable {
  private readonly chunks = new Map<number, Buffer>();
  private readonly dirty = new Set<number>();
  private readonly fatBytes: number;
  private readonly endOfChain: number;
  private readonly bad: number;
  readonly lastCluster: number;
  /** Clusters freed minus clusters allocated since this table was opened (for FSInfo). */
  freeDelta = 0;

  constructor(
    private readonly io: SectorIO,
    private readonly volumeOffset: number,
    private readonly layout: FatLayout,
  ) {
    this.fatBytes = layout.fatSectors * layout.bytesPerSector;
    this.lastCluster = layout.clusterCount + 1;
    const mask = layout.type === 12 ? 0xfff : layout.type === 16 ? 0xffff : 0x0fffffff;
    this.endOfChain = mask;
    this.bad = mask - 8;
  }

  private async load(byte: number): Promise<Buffer> {
    const index = Math.floor(byte / CHUNK);
    let chunk = this.chunks.get(index);
    if (!chunk) {
      chunk = Buffer.alloc(Math.min(CHUNK, this.fatBytes - index * CHUNK));
      await this.io.read(chunk, this.volumeOffset + this.layout.fatStart + index * CHUNK);
      this.chunks.set(index, chunk);
    }
    return chunk;
  }

  private async byte(at: number): Promise<number> {
    return (await this.load(at))[at % CHUNK] ?? 0;
  }

  private async setByte(at: number, value: number): Promise<void> {
    (await this.load(at))[at % CHUNK] = value & 0xff;
    this.dirty.add(Math.floor(at / CHUNK));
  }

  /** The entry for `cluster` (FAT32: without its 4 reserved high bits). */
  async get(cluster: number): Promise<number> {
    switch (this.layout.type) {
      case 12: {
        const at = cluster + (cluster >> 1);
        const pair = (await this.byte(at)) | ((await this.byte(at + 1)) << 8);
        return cluster & 1 ? pair >> 4 : pair & 0xfff;
      }
      case 16:
        return (await this.byte(cluster * 2)) | ((await this.byte(cluster * 2 + 1)) << 8);
      case 32: {
        const at = cluster * 4;
        let value = 0;
        for (let i = 3; i >= 0; i--) value = value * 256 + (await this.byte(at + i));
        return value & 0x0fffffff;
      }
    }
  }

  async set(cluster: number, value: number): Promise<void> {
    switch (this.layout.type) {
      case 12: {
        const at = cluster + (cluster >> 1);
        const pair = (await this.byte(at)) | ((await this.byte(at + 1)) << 8);
        const next = cluster & 1 ? (pair & 0x000f) | (value << 4) : (pair & 0xf000) | (value & 0xfff);
        await this.setByte(at, next);
        await this.setByte(at + 1, next >> 8);
        return;
      }
      case 16:
        await this.setByte(cluster * 2, value);
        await this.setByte(cluster * 2 + 1, value >> 8);
        return;
      case 32: {
        // The top 4 bits are reserved: keep whatever they hold.
        const at = cluster * 4;
        const kept = (await this.byte(at + 3)) & 0xf0;
        await this.setByte(at, value);
        await this.setByte(at + 1, value >> 8);
        await this.setByte(at + 2, value >> 16);
        await this.setByte(at + 3, kept | ((value >>> 24) & 0x0f));
        return;
      }
    }
  }

  /** The clusters of the chain starting at `first`, checked link by link. `owner` names it in errors. */
  async chain(first: number, owner: string): Promise<number[]> {
    const clusters: number[] = [];
    const seen = new Set<number>();
    let cluster = first;
    for (;;) {
      if (cluster < 2 || cluster > this.lastCluster) {
        const from = clusters.length ? `cluster ${clusters[clusters.length - 1]} links to` : 'it starts at';
        throw new FatError(`The FAT chain of ${owner} is broken: ${from} cluster ${cluster}, outside the volume (2 to ${this.lastCluster})`);
      }
      if (seen.has(cluster)) throw new FatError(`The FAT chain of ${owner} loops: cluster ${clusters[clusters.length - 1]} links back to cluster ${cluster}`);
      seen.add(cluster);
      clusters.push(cluster);
      const next = await this.get(cluster);
      if (next >= this.bad + 1) return clusters;
      if (next === 0) throw new FatError(`The FAT chain of ${owner} is broken: cluster ${cluster} is marked free`);
      if (next === this.bad) throw new FatError(`The FAT chain of ${owner} is broken: cluster ${cluster} links to a cluster marked bad`);
      cluster = next;
    }
  }

  /** Takes the first `count` free clusters, links them into a chain and returns it. */
  async allocate(count: number): Promise<number[]> {
    const found: number[] = [];
    for (let cluster = 2; cluster <= this.lastCluster && found.length < count; cluster++) {
      if ((await this.get(cluster)) === 0) found.push(cluster);
    }
    if (found.length < count) {
      throw new FatError(`The volume is full: ${count} free clusters of ${this.layout.bytesPerCluster} bytes are needed, ${found.length} are left`);
    }
    for (let i = 0; i < found.length; i++) await this.set(found[i] as number, found[i + 1] ?? this.endOfChain);
    this.freeDelta -= found.length;
    return found;
  }

  /** Counts the free clusters, up to `enough` (then stops looking). */
  async countFree(enough: number): Promise<number> {
    let free = 0;
    for (let cluster = 2; cluster <= this.lastCluster && free < enough; cluster++) if ((await this.get(cluster)) === 0) free++;
    return free;
  }

  async release(chain: readonly number[]): Promise<void> {
    for (const cluster of chain) await this.set(cluster, 0);
    this.freeDelta += chain.length;
  }

  /** Links `tail` (a chain ending in end-of-chain) after the last cluster of a chain. */
  async append(last: number, tail: readonly number[]): Promise<void> {
    if (tail[0] !== undefined) await this.set(last, tail[0]);
  }

  /** Writes the changed chunks to every FAT copy. */
  async flush(): Promise<void> {
    for (const index of [...this.dirty].sort((a, b) => a - b)) {
      const chunk = this.chunks.get(index) as Buffer;
      for (let copy = 0; copy < this.layout.fatCount; copy++) {
        await this.io.write(chunk, this.volumeOffset + this.layout.fatStart + copy * this.fatBytes + index * CHUNK);
      }
    }
    this.dirty.clear();
  }
}
