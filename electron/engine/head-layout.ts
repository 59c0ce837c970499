// Where a flash holds back the start of the drive, and how much of it is made to match the image
// exactly (pipeline.ts). Its own module so tests and tools can name it without loading the engine.

/**
 * The part of the drive's start that identifies it: the MBR and boot code, a GPT's header and
 * entries (512- or 4096-byte sectors: up to 24 KiB), the signatures of a filesystem made on the
 * whole drive (FAT, NTFS, exFAT, XFS, LUKS at 0; ext2/3/4 and F2FS at 1 KiB; md RAID and bcache at
 * 4 KiB; ISO 9660 and UDF's recognition sequence from 32 KiB; btrfs, GFS2 and ReiserFS at 64 KiB).
 * It is zeroed before anything else is written and written last, once everything else is on the
 * drive (and checked against a published checksum, where there is one): until then `blkid` and
 * the kernel find nothing on the drive (held-back-head.test.ts checks that with `blkid -p`). Past
 * 128 KiB only a ZFS label (256 KiB) and UDF's anchor (sector 256) are probed for; UDF's counts
 * for nothing without its recognition sequence, held back, and the drive's old bytes there are
 * overwritten by the image's own in the flash's first writes. Holding back the whole first MiB, as
 * Blockwise did, wrote up to a MiB twice: ~50 ms more per flash on a 20 MB/s card.
 */
export const HELD_BACK = 128 * 1024;

/**
 * The first MiB is made to match the image exactly, zeros included, in every write mode: boot code,
 * a superblock or a partition table left there by the drive's last use must not survive beside
 * the new ones. Its part past HELD_BACK is written in step with the rest of the image.
 */
export const HEAD_SIZE = 1024 * 1024;
