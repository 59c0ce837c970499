// When and how to start the elevated helper. The decision (needsElevation) and the exact
// command lines per OS are plain functions, so they are tested here on Linux for every OS.

import { constants as fsc, promises as fsp } from 'node:fs';

export type Elevator = 'none' | 'pkexec' | 'sudo' | 'osascript' | 'uac';

export interface HelperProgram {
  /** The Node (or Electron) executable, or the installed launcher (assets/linux/blockwise-helper). */
  executable: string;
  /** Path of dist/electron/helper/main.js; absent when `executable` is the launcher, which knows it. */
  script?: string;
  /** True when `executable` is Electron: it must be told to behave as plain Node. */
  electron?: boolean;
}

export interface HelperLaunchOptions {
  /** Every drive of the job: the helper refuses all others. */
  devices: string[];
  includeLoop?: boolean;
  /** The app's uid, for the helper's source check where the elevator sets no PKEXEC_UID/SUDO_UID. */
  uid?: number;
  /** Socket/pipe to connect back to, for elevators that cannot pass stdio through. */
  connect?: string;
}

export interface LaunchCommand {
  command: string;
  args: string[];
  /** Whether the helper's stdio is the protocol channel (else it connects to `connect`). */
  stdio: boolean;
}

/**
 * True when this process cannot open `devicePath` for writing itself: then the helper is needed.
 * Root, or a user in the `disk` group, writes in-process (worker thread) with no prompt at all.
 */
export async function needsElevation(devicePath: string, flags: number = fsc.O_RDWR): Promise<boolean> {
  try {
    const handle = await fsp.open(devicePath, flags);
    await handle.close();
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Only a permission problem is solved by elevating; anything else (gone, busy, read-only)
    // the engine reports better itself.
    return code === 'EACCES' || code === 'EPERM';
  }
}

/** The default elevator: pkexec for the GUI/browser host, sudo for a CLI in a terminal. */
export function defaultElevator(platform: NodeJS.Platform, interactiveTerminal: boolean): Elevator {
  if (platform === 'darwin') return 'osascript';
  if (platform === 'win32') return 'uac';
  return interactiveTerminal ? 'sudo' : 'pkexec';
}

function helperArgv(program: HelperProgram, options: HelperLaunchOptions): string[] {
  const args = program.script ? [program.script] : [];
  for (const device of options.devices) args.push('--device', device);
  if (options.includeLoop) args.push('--include-loop');
  if (options.uid !== undefined) args.push('--uid', String(options.uid));
  if (options.connect) args.push('--connect', options.connect);
  return args;
}

/** POSIX shell quoting: safe inside osascript's "do shell script". */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** PowerShell single-quoted string. */
function psQuote(arg: string): string {
  return `'${arg.replace(/'/g, "''")}'`;
}

export function launchCommand(elevator: Elevator, program: HelperProgram, options: HelperLaunchOptions): LaunchCommand {
  const argv = helperArgv(program, options);
  // pkexec and sudo drop the environment; `env` puts back the one variable Electron needs. (The
  // installed launcher sets it itself, and must come first for pkexec to match the polkit policy.)
  const envPrefix = program.electron && program.script ? ['env', 'ELECTRON_RUN_AS_NODE=1'] : [];
  switch (elevator) {
    case 'none':
      return { command: program.executable, args: argv, stdio: true };
    case 'pkexec':
      return { command: 'pkexec', args: [...envPrefix, program.executable, ...argv], stdio: true };
    case 'sudo':
      return { command: 'sudo', args: ['--', ...envPrefix, program.executable, ...argv], stdio: true };
    case 'osascript': {
      if (!options.connect) throw new Error('the macOS authorisation prompt cannot pass stdio: give a socket to connect back to');
      const line = [...envPrefix, program.executable, ...argv].map(shellQuote).join(' ');
      const script = `do shell script ${JSON.stringify(line)} with prompt "Blockwise needs to write to ${options.devices.join(', ')}." with administrator privileges`;
      return { command: 'osascript', args: ['-e', script], stdio: false };
    }
    case 'uac': {
      if (!options.connect) throw new Error('UAC cannot pass stdio: give a named pipe to connect back to');
      const env = program.electron && program.script ? '$env:ELECTRON_RUN_AS_NODE = 1; ' : '';
      const script =
        `${env}$p = Start-Process -FilePath ${psQuote(program.executable)} -ArgumentList ${argv.map(psQuote).join(',')} ` +
        `-Verb RunAs -WindowStyle Hidden -PassThru -Wait; exit $p.ExitCode`;
      return { command: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-Command', script], stdio: false };
    }
  }
}

/**
 * Exit codes meaning "the user said no" (nothing ran): pkexec 126 (dialog dismissed) / 127 (not
 * authorised), sudo 1 with no output, osascript -128 reported as 1, UAC cancel (1223).
 */
export function declinedExit(elevator: Elevator, code: number | null, helperSpoke: boolean): boolean {
  if (helperSpoke || code === null) return false;
  switch (elevator) {
    case 'pkexec':
      return code === 126 || code === 127;
    case 'sudo':
    case 'osascript':
      return code === 1;
    case 'uac':
      return code === 1 || code === 1223;
    case 'none':
      return false;
  }
}
