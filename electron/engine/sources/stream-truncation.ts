// A compressed image can end cleanly and still be short: a .gz, .zst, .xz or .bz2 of several
// members, frames or streams that stops right after one (pbzip2 or pzstd stopped halfway, a part
// of a concatenation missing) decodes without an error, and was written and "verified". The
// metadata that gives away a raw image cut short (truncation-check.ts) gives this away too, kept
// from the bytes as they stream past: the image's first MiB, and a few KiB where each of its
// filesystems starts. Checked when the image ends, before the held-back head is written; so is
// its last sector, where a fixed VHD or a .dmg gives itself away (refused as a raw file is: a
// compressed .vhd.xz was written, footer and all, and "verified").

import { BlockwiseError } from '../../../shared/errors';
import { advised, unsupportedMessage } from './detect';
import type { SourceReader } from './source';
import { BTRFS_SUPER, checkRawImageComplete, volumesOf } from './truncation-check';
import { vmDiskFromTrailer } from './vm-disks';

/** Enough for the partition tables (GPT entries included), an ISO's volume descriptor and a bare btrfs's superblock. */
const HEAD_BYTES = 1 << 20;

interface Window {
  start: number;
  data: Buffer;
}

/** Makes `reader` fail with SOURCE_TRUNCATED at its end when its image proves to be cut short. */
export function watchForTruncation(reader: SourceReader, name: string, filePath: string): void {
  const head = Buffer.alloc(HEAD_BYTES);
  let headFilled = 0;
  let windows: Window[] | undefined;
  let position = 0;
  let ended = false;
  /** The image's last 512 bytes so far. */
  let tail = Buffer.alloc(0);
  /** Reads may overlap (concurrentReads); their bytes are looked at in order, one after another. */
  let inOrder: Promise<void> = Promise.resolve();

  const readAt = async (into: Buffer, at: number): Promise<number> => {
    if (at + into.length <= headFilled) return head.copy(into, 0, at, at + into.length);
    const window = windows?.find((w) => w.start === at);
    if (!window) return 0;
    const filled = Math.max(0, Math.min(window.data.length, position - window.start));
    return window.data.copy(into, 0, 0, Math.min(filled, into.length));
  };

  async function look(at: number, data: Buffer, last: boolean): Promise<void> {
    if (at < HEAD_BYTES) headFilled = at + data.copy(head, at, 0, Math.min(data.length, HEAD_BYTES - at));
    if (windows === undefined && (headFilled === HEAD_BYTES || last)) {
      const volumes = headFilled < 512 ? [] : await volumesOf(readAt, head.subarray(0, Math.min(headFilled, 2048)));
      windows = volumes.flatMap((v) => [
        { start: v.start, data: Buffer.alloc(2048) },
        { start: v.start + BTRFS_SUPER, data: Buffer.alloc(4096) },
      ]);
      // Parts already passed lie in the head.
      for (const w of windows) if (w.start < headFilled) head.copy(w.data, 0, w.start, Math.min(headFilled, w.start + w.data.length));
    }
    for (const w of windows ?? []) {
      const from = Math.max(at, w.start);
      const to = Math.min(at + data.length, w.start + w.data.length);
      if (to > from) data.copy(w.data, from - w.start, from - at, to - at);
    }
    tail = data.length >= 512 ? Buffer.from(data.subarray(data.length - 512)) : Buffer.concat([tail, data]).subarray(-512);
    if (!last) return;
    const what = `The image in ${name}`;
    const vmDisk = vmDiskFromTrailer(tail);
    if (vmDisk) {
      // Advice names the file they will have: the entry, or this file minus its compression suffix.
      const fileName = reader.info.entry ?? name.replace(/[?#].*$/, '').replace(/^.*[\\/]/, '').replace(/\.[^./]+$/, '');
      throw new BlockwiseError('SOURCE_UNSUPPORTED', unsupportedMessage(what, fileName, vmDisk), { path: filePath, offset: position - 512, ...advised(vmDisk) });
    }
    await checkRawImageComplete(readAt, position, what, filePath);
  }

  const read = reader.read.bind(reader);
  reader.read = async (into: Buffer): Promise<number> => {
    const n = await read(into);
    if (ended) return n;
    const at = position;
    position += n;
    // The end: a short read, or the size known up front reached (a reader need not be asked again).
    const last = n < into.length || (reader.info.size !== undefined && position >= reader.info.size);
    if (last) ended = true;
    const looked = inOrder.then(() => look(at, into.subarray(0, n), last));
    inOrder = looked.catch(() => undefined);
    await looked;
    return n;
  };
}
