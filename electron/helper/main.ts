// The elevated helper: the engine, run as root for the drive(s) of ONE job, speaking the engine
// protocol as JSON lines over its standard streams (or, where the elevation tool cannot pass
// streams through — macOS osascript, Windows UAC — over a local socket the app created).
// Image files are read only if the person who started it may read them (source-access.ts).
//
//   node dist/electron/helper/main.js --device /dev/sdb [--device /dev/sdc] [--include-loop]
//        [--uid 1000] [--allow-device-source] [--connect /tmp/x.sock]

// First: sizes libuv's thread pool before anything uses it (io-threads.ts).
import '../engine/io-threads';
import * as net from 'node:net';
import * as readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { BlockwiseError, serializeError } from '../../shared/errors';
import { createEngineService } from '../engine/engine-service';
import type { EngineEvent, EngineRequest } from '../engine/protocol';
import '../engine/sources/register';
import '../drives/register-lifecycle';
import { authorizeFor, parseRequest, requestIdOf } from './request-filter';
import { invokingUid, userGroups, vetRequest, type SourcePolicy } from './source-access';

export interface HelperArgs {
  devices: string[];
  includeLoop: boolean;
  connect?: string;
  /** The uid of the app that started the helper (used when no PKEXEC_UID/SUDO_UID says so). */
  uid?: number;
  /** Allow a drive as the image (cloning); off unless the app asks for it. */
  allowDeviceSource: boolean;
}

export function parseHelperArgs(argv: string[]): HelperArgs {
  const args: HelperArgs = { devices: [], includeLoop: false, allowDeviceSource: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--device') {
      const device = argv[++i] ?? '';
      if (!device) throw new Error('--device needs a path');
      args.devices.push(device);
    } else if (arg === '--include-loop') args.includeLoop = true;
    else if (arg === '--allow-device-source') args.allowDeviceSource = true;
    else if (arg === '--connect') args.connect = argv[++i] ?? '';
    else if (arg === '--uid') {
      const uid = argv[++i] ?? '';
      if (!/^\d+$/.test(uid)) throw new Error(`--uid needs a number, not ${JSON.stringify(uid)}`);
      args.uid = Number(uid);
    } else throw new Error(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (args.devices.length === 0) throw new Error('--device PATH is required: the helper serves only the drives it is started for');
  if (args.connect === '') throw new Error('--connect needs a socket path');
  return args;
}

/** Whose permissions decide what the helper may read: the invoking user's, or this process's. */
export function sourcePolicyFor(args: HelperArgs, env: NodeJS.ProcessEnv = process.env): SourcePolicy {
  const own = process.getuid?.() ?? 0;
  const uid = invokingUid(env, args.uid) ?? own;
  return { user: { uid, groups: uid === own && own !== 0 ? (process.getgroups?.() ?? []) : userGroups(uid) }, allowDeviceSources: args.allowDeviceSource };
}

export function serve(input: Readable, output: Writable, args: HelperArgs, policy: SourcePolicy = sourcePolicyFor(args)): Promise<void> {
  const write = (event: EngineEvent) => output.write(JSON.stringify(event) + '\n');
  const service = createEngineService(write, { authorize: authorizeFor(args.devices) });
  const running = new Set<Promise<void>>();
  // Requests still being vetted (async file checks) and cancels that arrived meanwhile.
  const vetting = new Set<number>();
  const cancelledEarly = new Set<number>();
  const handle = async (request: EngineRequest): Promise<void> => {
    if (request.type === 'cancel' && vetting.has(request.id)) {
      cancelledEarly.add(request.id);
      return;
    }
    if (request.type === 'cancel') return service.handle(request);
    vetting.add(request.id);
    let vetted: EngineRequest;
    try {
      authorizeFor(args.devices)(request); // drives first: a request for another drive learns nothing about files
      vetted = await vetRequest(request, policy);
    } catch (error) {
      write({ type: 'error', id: request.id, error: serializeError(error) });
      return;
    } finally {
      vetting.delete(request.id);
    }
    if (cancelledEarly.delete(request.id)) {
      write({ type: 'error', id: request.id, error: serializeError(new BlockwiseError('CANCELLED', 'Cancelled before writing started. Nothing was written.')) });
      return;
    }
    return service.handle(vetted);
  };
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
      const job = handle(request).finally(() => running.delete(job));
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
