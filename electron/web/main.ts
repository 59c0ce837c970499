// `npm run start:web`: the browser host as a program. Prints the URL (with its token) once it
// listens; Ctrl-C cancels running flashes (the engine reports the drive incomplete) and exits.

// First: sizes libuv's thread pool before anything uses it (io-threads.ts).
import '../engine/io-threads';
import { READY_PREFIX } from '../../shared/ws-protocol';
import { createHostServices } from '../host/host-services';
import { startWebHost } from './web-host';

export function parsePort(argv: string[], env: NodeJS.ProcessEnv): number {
  let raw: string | undefined = env.BLOCKWISE_PORT;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--port') raw = argv[++i];
    else if (arg.startsWith('--port=')) raw = arg.slice('--port='.length);
    else throw new Error(`Unknown option ${arg}. Usage: blockwise-web [--port N] (or BLOCKWISE_PORT=N; 0 picks a free port).`);
  }
  if (raw === undefined || raw === '') return 0; // a free port: the URL carries a fresh token anyway
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid port ${JSON.stringify(raw)}: give a number from 0 to 65535.`);
  return port;
}

async function main(): Promise<void> {
  let port: number;
  try {
    port = parsePort(process.argv.slice(2), process.env);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const services = createHostServices();
  let host;
  try {
    host = await startWebHost({ services, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(code === 'EADDRINUSE' ? `Port ${port} is in use: pick another with --port N (0 picks a free one).` : (error as Error).message);
    process.exit(1);
  }
  console.log(`Open this address in a browser on this computer (it contains the access token):`);
  console.log(`${READY_PREFIX}${host.url}`);
  if (process.env.BLOCKWISE_INCLUDE_LOOP === '1') console.log('Loop devices are listed as drives (BLOCKWISE_INCLUDE_LOOP=1).');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping: cancelling running flashes.');
    await services.close();
    await host.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (require.main === module) void main();
