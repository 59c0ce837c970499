// DriveInfo fixtures for the renderer's tests, shaped like the scanner's output for loop devices
// and a USB stick.

import type { DriveInfo } from '../../shared/drive-types';

export function drive(overrides: Partial<DriveInfo> & { id: string }): DriveInfo {
  return {
    path: `/dev/${overrides.id}`,
    size: 64_000_000,
    model: '',
    bus: 'loop',
    removable: false,
    readOnly: false,
    system: false,
    virtual: true,
    isCard: false,
    isUSB: false,
    mountpoints: [],
    logicalBlockSize: 512,
    ...overrides,
  };
}
