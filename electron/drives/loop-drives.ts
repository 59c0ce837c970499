// Attached loop devices as drives. drivelist never lists them; tests, e2e and people trying
// Blockwise without a stick opt in (BLOCKWISE_INCLUDE_LOOP=1). Free loop devices are not drives.

import type { DriveInfo } from '../../shared/drive-types';
import { driveId, isSystemMountpoint } from './drive-info';
import { diskMountpoints, listBlockNames, loopBackingFile, readMountTable, readSwapDevices, readSysBlock } from './linux-block';

export function listLoopDrives(): DriveInfo[] {
  if (process.platform !== 'linux') return [];
  const mounts = readMountTable();
  const swaps = readSwapDevices();
  const drives: DriveInfo[] = [];
  for (const name of listBlockNames()) {
    if (!/^loop\d+$/.test(name)) continue;
    const backing = loopBackingFile(name);
    if (!backing) continue;
    const facts = readSysBlock(name);
    if (!facts || facts.size === 0) continue;
    const path = `/dev/${name}`;
    const mountpoints = diskMountpoints(name, mounts, swaps);
    const model = `Loop device (${backing})`;
    drives.push({
      // The backing file goes into the id too: re-attaching another file under the same name
      // must not look like the same drive.
      id: driveId(path, { serial: backing, size: facts.size, model, diskseq: facts.diskseq }),
      path,
      size: facts.size,
      model,
      bus: 'loop',
      removable: true,
      readOnly: facts.readOnly,
      system: mountpoints.some(isSystemMountpoint),
      virtual: true,
      isCard: false,
      isUSB: false,
      mountpoints,
      logicalBlockSize: facts.logicalBlockSize,
    });
  }
  return drives;
}
