// The elevated helper: the engine, run as root for ONE drive, speaking the engine protocol as JSON
// lines over its standard streams (or, where the elevation tool cannot pass streams through —
// macOS osascript, Windows UAC — over a local socket the app created: --connect PATH).
//
//   node dist/electron/helper/main.js --device /dev/sdb [--include-loop] [--connect /tmp/x.sock]

import * as net from 'node:net';
import * as readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { BlockwiseError, serializeError } from '../../shared/errors';
import { createEngineService } from '../engine/engine-service';
import type { EngineEvent } from '../engine/protocol';
import '../engine/sources/register';
import '../drives/register-lifecycle';
import { authorizeFor, parseRequest, requestIdOf } from './request-filter';

export interface HelperArgs {
  device: string;
  includeLoop: boolean;
  connect?: string;
}

export function parseHelperArgs(argv: string[]): HelperArgs {
  const args: HelperArgs = { device: '', includeLoop: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--device') args.device = argv[++i] ?? '';
    else if (arg === '--include-loop') args.includeLoop = true;
    else if (arg === '--connect') args.connect = argv[++i] ?? '';
    else throw new Error(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (!args.device) throw new Error('--device PATH is required: the helper serves exactly one drive');
  if (args.connect === '') throw new Error('--connect needs a socket path');
  return args;
}

export function serve(input: Readable, output: Writable, args: HelperArgs): Promise<void> {
  const write = (event: EngineEvent) => output.write(JSON.stringify(event) + '\n');
  const service = createEngineService(write, { authorize: authorizeFor(args.device) });
  const running = new Set<Promise<void>>();
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      const error = new BlockwiseError('INVALID_REQUEST', `The helper refused a line that is not JSON: ${JSON.stringify(line.slice(0, 80))}.`);
      write({ type: 'error', id: 0, error: serializeError(error) });
      return;
    }
    try {
      const request = parseRequest(parsed);
      const job = service.handle(request).finally(() => running.delete(job));
      running.add(job);
    } catch (error) {
      write({ type: 'error', id: requestIdOf(parsed), error: serializeError(error) });
    }
  });
  return new Promise((resolve) => {
    lines.on('close', () => {
      // The app went away: stop writing rather than leave a root process working unattended.
      service.cancelAll();
      void Promise.allSettled([...running]).then(() => resolve());
    });
  });
}

async function main(): Promise<void> {
  // stdout carries protocol lines only; anything logged goes to stderr.
  console.log = console.error;
  const args = parseHelperArgs(process.argv.slice(2));
  if (args.includeLoop) process.env.BLOCKWISE_INCLUDE_LOOP = '1';
  if (args.connect) {
    const socket = net.connect(args.connect);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    await serve(socket, socket, args);
    socket.end();
  } else {
    await serve(process.stdin, process.stdout, args);
  }
}

if (require.main === module) {
  // exitCode, not exit(): let the last protocol lines drain from the stdout pipe first.
  main().catch((error: Error) => {
    process.stderr.write(`blockwise-helper: ${error.message}\n`);
    process.exitCode = 2;
  });
}
