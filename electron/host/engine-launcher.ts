// Which engine a flash job gets. When this process can open every target itself (run as root, or
// the user is in the `disk` group) the engine runs in a worker thread here, with no prompt at all;
// otherwise ONE elevated helper is started for exactly the job's drives (pkexec / macOS prompt /
// UAC), so the person answers one prompt and the image is decompressed once for all drives.
// A declined prompt ends the job with ELEVATION_DECLINED through the same engine protocol.

import { EngineClient, workerTransport } from '../engine/engine-client';
import { defaultElevator, needsElevation, type Elevator, type HelperProgram } from '../helper/elevation';
import { helperTransport } from '../helper/helper-transport';
import type { EngineFactory } from './flash-service';

export interface EngineLauncherOptions {
  /** Does this process lack the right to open `device`? (Tests pass a fake.) */
  needsElevation?: (device: string) => Promise<boolean>;
  /** Default: pkexec on Linux, the authorisation prompt on macOS, UAC on Windows. */
  elevator?: Elevator;
  /** Default: the installed launcher in a packaged Linux app, else this build's helper script. */
  program?: HelperProgram;
  /** Let the helper accept loop devices (tests); default from BLOCKWISE_INCLUDE_LOOP. */
  includeLoop?: boolean;
  /** Told which engine each job got, e.g. for a log line. */
  onChoice?: (kind: 'worker' | 'helper', devices: string[]) => void;
}

export function engineLauncher(options: EngineLauncherOptions = {}): EngineFactory {
  const check = options.needsElevation ?? needsElevation;
  return async (devices) => {
    const needed = (await Promise.all(devices.map((d) => check(d)))).some(Boolean);
    options.onChoice?.(needed ? 'helper' : 'worker', devices);
    if (!needed) return new EngineClient(workerTransport());
    return new EngineClient(
      helperTransport({
        devices,
        elevator: options.elevator ?? defaultElevator(process.platform, false),
        program: options.program,
        includeLoop: options.includeLoop ?? process.env.BLOCKWISE_INCLUDE_LOOP === '1',
      }),
    );
  };
}
