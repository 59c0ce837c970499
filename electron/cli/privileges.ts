// The CLI's answer to "this user may not open the drive": in a terminal, ask sudo for the rights
// and run the engine in the elevated helper (its prompt appears in the same terminal); elsewhere
// (a pipe, a script, no sudo) stop before anything is written and print the exact command that
// would work. Root, or a user in the `disk` group, runs the engine in a worker thread as before.

import { constants as fsc, accessSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BlockwiseError } from '../../shared/errors';
import { workerTransport } from '../engine/engine-client';
import type { EngineTransport } from '../engine/protocol';
import { needsElevation, shellQuote } from '../helper/elevation';
import { helperTransport } from '../helper/helper-transport';

export type EnginePlan = { kind: 'worker' } | { kind: 'sudo'; devices: string[] };

/** Is `name` an executable on PATH? */
export function onPath(name: string, searchPath = process.env.PATH ?? ''): boolean {
  return searchPath.split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir || '.', name), fsc.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The command line that re-runs this very invocation as root. */
export function sudoCommand(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const keep = env.BLOCKWISE_INCLUDE_LOOP === '1' ? ['BLOCKWISE_INCLUDE_LOOP=1'] : [];
  return ['sudo', ...keep, process.execPath, process.argv[1] ?? 'blockwise', ...args].map(shellQuote).join(' ');
}

function whoAmI(): string {
  try {
    return `${os.userInfo().username} (uid ${process.getuid?.()})`;
  } catch {
    return `uid ${process.getuid?.()}`;
  }
}

/**
 * Decides before any confirmation or write whether the engine can run here. Throws
 * PERMISSION_DENIED with the sudo command line when it can't and no prompt is possible.
 */
export async function planEngine(paths: string[], args: string[], options: { forReading?: boolean; interactive: boolean }): Promise<EnginePlan> {
  const flags = options.forReading ? fsc.O_RDONLY : fsc.O_RDWR;
  const denied: string[] = [];
  for (const p of paths) if (await needsElevation(p, flags)) denied.push(p);
  if (denied.length === 0) return { kind: 'worker' };
  if (options.interactive && process.platform !== 'win32' && onPath('sudo')) return { kind: 'sudo', devices: paths };
  throw new BlockwiseError(
    'PERMISSION_DENIED',
    `${whoAmI()} may not open ${denied.join(', ')} for ${options.forReading ? 'reading' : 'writing'}, so nothing was written. ` +
      `Run the same command as root:\n  ${sudoCommand(args)}\n`,
    { path: denied[0] },
  );
}

export function transportFor(plan: EnginePlan): EngineTransport {
  if (plan.kind === 'worker') return workerTransport();
  process.stderr.write(`Writing ${plan.devices.join(', ')} needs administrator rights: asking sudo.\n`);
  return helperTransport({ devices: plan.devices, elevator: 'sudo', includeLoop: process.env.BLOCKWISE_INCLUDE_LOOP === '1' });
}
