// Plugs the drives layer into the engine (see electron/engine/target-lifecycle.ts). Imported for
// its side effect by the composition roots that run the engine: the worker thread and the helper.

import { registerTargetLifecycle, type TargetFinish, type TargetLifecycle } from '../engine/target-lifecycle';
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
  async finish(spec: TargetSpec, options): Promise<TargetFinish | void> {
    if (!(await isBlockDevice(spec.path)) && !isDrivePath(spec.path)) return;
    await rereadPartitionTable(spec.path);
    // A loop device has nothing to eject (detaching it is its owner's business): nothing to say.
    if (!options.eject || /^\/dev\/loop\d+$/.test(spec.path)) return;
    // The flash succeeded; a failed eject goes with the drive's result (the person must eject it
    // by hand before unplugging it), not as a failed flash.
    return ejectDrive(spec.path).then(
      () => ({ ejected: true }),
      (error: Error) => ({ ejectError: error.message }),
    );
  },
};

registerTargetLifecycle(drivesLifecycle);
