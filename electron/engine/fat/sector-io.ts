// The only I/O the FAT code does: whole sectors read and written at byte positions, so the same
// code edits an image file, a block device, or a buffer in a test. Positions and lengths are
// multiples of 512 (a 4 KiB-sector volume simply reads eight of them at once).

import { read as fsRead, write as fsWrite } from 'node:fs';
import { FatError } from './fat-error';

export const IO_SECTOR = 512;

export interface SectorIO {
  /** Fills `buffer` (a whole number of 512-byte sectors) from `position`; a short read is an error. */
  read(buffer: Buffer, position: number): Promise<void>;
  /** Writes all of `buffer` (whole sectors) at `position`. */
  write(buffer: Buffer, position: number): Promise<void>;
}

type Transfer = (buffer: Buffer, offset: number, length: number, position: number) => Promise<number>;

function checkAligned(what: string, buffer: Buffer, position: number): void {
  if (buffer.length % IO_SECTOR !== 0 || !Number.isSafeInteger(position) || position < 0 || position % IO_SECTOR !== 0) {
    throw new FatError(`${what} of ${buffer.length} bytes at byte ${position} is not whole 512-byte sectors`);
  }
}

/** Turns a partial-transfer primitive into whole-buffer sector I/O (the OS may return less). */
export function sectorIOFrom(read: Transfer, write: Transfer): SectorIO {
  return {
    async read(buffer, position) {
      checkAligned('A read', buffer, position);
      for (let done = 0; done < buffer.length; ) {
        const got = await read(buffer, done, buffer.length - done, position + done);
        if (got === 0) {
          throw new FatError(`Reading ${buffer.length} bytes at byte ${position} stopped at byte ${position + done}: past the end of the device or image`);
        }
        done += got;
      }
    },
    async write(buffer, position) {
      checkAligned('A write', buffer, position);
      for (let done = 0; done < buffer.length; ) {
        done += await write(buffer, done, buffer.length - done, position + done);
      }
    },
  };
}

/**
 * Sector I/O over a file descriptor the caller opened (and closes). Open a device without
 * O_DIRECT: these buffers are not aligned for it, and the edits are a few sectors anyway.
 */
export function fileDescriptorIO(fd: number): SectorIO {
  const transfer =
    (op: typeof fsRead | typeof fsWrite): Transfer =>
    (buffer, offset, length, position) =>
      new Promise((resolve, reject) => {
        (op as typeof fsRead)(fd, buffer, offset, length, position, (error, bytes) => (error ? reject(error) : resolve(bytes)));
      });
  return sectorIOFrom(transfer(fsRead), transfer(fsWrite));
}
