// What the scanner tells everyone about a drive. Issued by the privileged side; the renderer only
// ever names a drive by `id`, never by path.

export type BusType = 'usb' | 'sd' | 'sata' | 'nvme' | 'scsi' | 'virtual' | 'loop' | 'unknown';

export interface DriveInfo {
  /** Opaque id issued by the scanner; stable while the drive stays plugged in. */
  id: string;
  /** Device path: /dev/sdb, /dev/loop3, \\.\PhysicalDrive2, /dev/disk4. */
  path: string;
  /** Capacity in bytes (0 when the OS did not say). */
  size: number;
  /** Vendor + model as the OS reports it; may be empty. */
  model: string;
  serial?: string;
  bus: BusType;
  removable: boolean;
  readOnly: boolean;
  /** Holds the running system (a mounted system path) or is a fixed internal disk. */
  system: boolean;
  virtual: boolean;
  isCard: boolean;
  isUSB: boolean;
  mountpoints: string[];
  logicalBlockSize: number;
}
