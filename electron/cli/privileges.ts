// The CLI's answer to "this user may not open the drive": in a terminal, ask sudo for the rights
// and run the engine in the elevated helper (its prompt appears in the same terminal); elsewhere
// (a pipe, a script, no sudo) stop before anything is written and print the exact command that
// would work. Root, or a user in the `disk` group, runs the engine in a process of the command's own
// (engine-process.ts), with the user's rights. An image file as a target is written with them too:
// one the user may not write is theirs to fix (its permissions, another folder), not sudo's.

import { constants as fsc, accessSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BlockwiseError } from '../../shared/errors';
import type { EngineTransport } from '../engine/protocol';
import { needsElevation, shellQuote } from '../helper/elevation';
import { helperTransport } from '../helper/helper-transport';
import { engineProcessTransport } from './engine-process-transport';

export type EnginePlan = { kind: 'own-rights' } | { kind: 'sudo'; devices: string[] };

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

/** A regular file, or one still to be created (a path that is nothing yet). */
async function isRegularFile(p: string): Promise<boolean> {
  return fsp.stat(p).then(
    (stat) => stat.isFile(),
    () => true,
  );
}

/**
 * Decides before any confirmation or write whether the engine can run here. Throws
 * PERMISSION_DENIED with the sudo command line when it can't and no prompt is possible.
 */
export async function planEngine(paths: string[], args: string[], options: { forReading?: boolean; interactive: boolean }): Promise<EnginePlan> {
  const flags = options.forReading ? fsc.O_RDONLY : fsc.O_RDWR;
  const denied: string[] = [];
  for (const p of paths) {
    if (!options.forReading && (await isRegularFile(p))) continue;
    if (await needsElevation(p, flags)) denied.push(p);
  }
  if (denied.length === 0) return { kind: 'own-rights' };
  if (options.interactive && process.platform !== 'win32' && onPath('sudo')) return { kind: 'sudo', devices: paths };
  throw new BlockwiseError(
    'PERMISSION_DENIED',
    `${whoAmI()} may not open ${denied.join(', ')} for ${options.forReading ? 'reading' : 'writing'}, so nothing was written. ` +
      `Run the same command as root:\n  ${sudoCommand(args)}\n`,
    { path: denied[0] },
  );
}

/**
 * The engine's own process, started before the plan is known: its start-up (a Node process, some
 * 40 ms) overlaps the checks of the targets and the confirmation instead of following them.
 */
export class EngineStart {
  private spare: EngineTransport | undefined = engineProcessTransport();

  /** The transport for `plan`: the process already started, or the elevated helper (the other is let go). */
  transportFor(plan: EnginePlan): EngineTransport {
    const spare = this.spare;
    this.spare = undefined;
    if (plan.kind === 'own-rights' && spare) return spare;
    void spare?.close();
    if (plan.kind === 'own-rights') return engineProcessTransport();
    process.stderr.write(`Writing ${plan.devices.join(', ')} needs administrator rights: asking sudo.\n`);
    return helperTransport({ devices: plan.devices, elevator: 'sudo', includeLoop: process.env.BLOCKWISE_INCLUDE_LOOP === '1' });
  }

  /** Lets the process go unused: the command ends before any job (a refusal, no confirmation). */
  discard(): void {
    void this.spare?.close();
    this.spare = undefined;
  }
}
