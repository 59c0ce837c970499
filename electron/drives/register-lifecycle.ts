// Plugs the drives layer into the engine (see electron/engine/target-lifecycle.ts). Imported for
// its side effect by the composition roots that run the engine: the worker thread and the helper.

import { registerTargetLifecycle, type TargetLifecycle } from '../engine/target-lifecycle';
import type { TargetSpec } from '../../shared/flash-types';
import { promises as fsp } from 'node:fs';
import { ejectDrive, rereadPartitionTable } from './after-write';
import { checkIdentity } from './identity';
import { unmountDrive } from './unmount';

async function isBlockDevice(file: string): Promise<boolean> {
  return fsp.stat(file).then((s) => s.isBlockDevice(), () => false);
}

function isDrivePath(file: string): boolean {
  // Windows and macOS devices are not visible to stat() as block devices the way Linux's are.
  return /^\\\\\.\\PhysicalDrive\d+$/i.test(file) || /^\/dev\/r?disk\d+$/.test(file);
}

export const drivesLifecycle: TargetLifecycle = {
  async prepare(spec: TargetSpec): Promise<void> {
    if (!(await isBlockDevice(spec.path)) && !isDrivePath(spec.path)) return; // a regular file target
    // Identity first: never unmount (let alone write) a drive the user did not choose.
    await checkIdentity(spec);
    await unmountDrive(spec.path);
  },
  async finish(spec: TargetSpec, options): Promise<void> {
    if (!(await isBlockDevice(spec.path)) && !isDrivePath(spec.path)) return;
    await rereadPartitionTable(spec.path);
    if (options.eject) {
      // The flash succeeded; a failed eject is reported on stderr, not as a failed flash.
      await ejectDrive(spec.path).catch((error: Error) => process.stderr.write(`blockwise: ${error.message}\n`));
    }
  },
};

registerTargetLifecycle(drivesLifecycle);
