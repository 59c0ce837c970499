// EngineTransport over the elevated helper, so EngineClient works unchanged whether the engine
// runs in a worker thread or as root in another process. JSON lines both ways.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { BlockwiseError, type SerializedError } from '../../shared/errors';
import type { EngineEvent, EngineRequest, EngineTransport } from '../engine/protocol';
import { atMost } from '../engine/targets/io-watch';
import { declinedExit, launchCommand, type Elevator, type HelperProgram } from './elevation';

export interface HelperTransportOptions {
  /** Every drive of the job; one helper serves them all. */
  devices: string[];
  elevator: Elevator;
  program?: HelperProgram;
  includeLoop?: boolean;
}

/** Where electron-builder puts the launcher (extraResources, see electron-builder.yml). */
export const LAUNCHER_RESOURCE = path.join('linux', 'blockwise-helper');

/**
 * The installed launcher when this is a packaged Linux app (pkexec matches the polkit policy by
 * that path), else the helper script next to this file run by the current Node/Electron.
 */
export function defaultHelperProgram(resourcesPath: string | undefined = (process as { resourcesPath?: string }).resourcesPath): HelperProgram {
  const launcher = resourcesPath ? path.join(resourcesPath, LAUNCHER_RESOURCE) : undefined;
  if (process.platform === 'linux' && launcher && existsSync(launcher)) return { executable: launcher };
  return { executable: process.execPath, script: path.join(__dirname, 'main.js'), electron: Boolean(process.versions.electron) };
}

/** A local socket (Unix) or named pipe (Windows) only this user can reach, for elevators without stdio. */
function socketPath(): { path: string; cleanup: () => void } {
  if (process.platform === 'win32') {
    return { path: `\\\\.\\pipe\\blockwise-helper-${process.pid}-${Date.now()}`, cleanup: () => undefined };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-helper-'));
  return { path: path.join(dir, 'engine.sock'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function helperTransport(options: HelperTransportOptions): EngineTransport {
  const program = options.program ?? defaultHelperProgram();
  const eventListeners: Array<(event: EngineEvent) => void> = [];
  const exitListeners: Array<(error: SerializedError) => void> = [];
  const queued: string[] = [];
  let output: Writable | undefined;
  let spoke = false;
  let closing = false;
  let cancelledBeforeStart = false;
  const devices = options.devices.join(', ');

  const attach = (input: Readable, out: Writable) => {
    output = out;
    for (const line of queued.splice(0)) out.write(line);
    readline.createInterface({ input, crlfDelay: Infinity }).on('line', (line) => {
      let event: EngineEvent;
      try {
        event = JSON.parse(line) as EngineEvent;
      } catch {
        return; // not a protocol line (the helper logs to stderr; this is defensive)
      }
      spoke = true;
      for (const l of eventListeners) l(event);
    });
  };

  const socket = options.elevator === 'osascript' || options.elevator === 'uac' ? socketPath() : undefined;
  let server: net.Server | undefined;
  if (socket) {
    server = net.createServer((connection) => {
      server?.close(); // exactly one helper may connect
      attach(connection, connection);
    });
    server.listen(socket.path);
  }

  const command = launchCommand(options.elevator, program, {
    devices: options.devices,
    includeLoop: options.includeLoop,
    uid: process.getuid?.(),
    connect: socket?.path,
  });
  const child = spawn(command.command, command.args, { stdio: command.stdio ? ['pipe', 'pipe', 'inherit'] : ['ignore', 'ignore', 'inherit'] });
  if (command.stdio && child.stdin && child.stdout) attach(child.stdout, child.stdin);
  child.stdin?.on('error', () => undefined); // EPIPE when the helper is gone; reported by 'exit'

  const died = (error: SerializedError) => {
    if (closing) return;
    for (const l of exitListeners) l(error);
  };
  child.on('error', (error) =>
    died(new BlockwiseError('PERMISSION_DENIED', `Could not start the helper with ${command.command}: ${error.message}. Nothing was written.`).toJSON()),
  );
  child.on('exit', (code) => {
    server?.close();
    socket?.cleanup();
    if (cancelledBeforeStart) {
      died(new BlockwiseError('CANCELLED', `Cancelled while waiting for administrator rights to write ${devices}. Nothing was written.`).toJSON());
    } else if (declinedExit(options.elevator, code, spoke)) {
      died(new BlockwiseError('ELEVATION_DECLINED', `Administrator rights were not granted to write ${devices}.`, { path: options.devices[0] }).toJSON());
    } else {
      died(new BlockwiseError('INTERNAL', `The elevated helper stopped unexpectedly (exit code ${code}).`, { driveIncomplete: spoke }).toJSON());
    }
  });

  // While the prompt is up nothing has run: stopping the elevation tool is a clean cancel.
  const stopPrompt = () => {
    cancelledBeforeStart = true;
    child.kill('SIGTERM');
  };

  return {
    send(request: EngineRequest) {
      if (request.type === 'cancel' && !spoke && child.exitCode === null) return stopPrompt();
      const line = JSON.stringify(request) + '\n';
      if (output) output.write(line);
      else queued.push(line);
    },
    onEvent: (listener) => eventListeners.push(listener),
    onExit: (listener) => exitListeners.push(listener),
    async close() {
      closing = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (!spoke) child.kill('SIGTERM'); // a prompt nobody answered: don't leave it on screen
      output?.end(); // the helper cancels what runs and exits when its input ends
      // One stuck in a system call exits once that returns: not waited on past 2 s (engine-client.ts).
      await atMost(exited, 2000);
      child.unref();
    },
  };
}
