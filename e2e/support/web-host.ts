// Starts the browser host (`node dist/electron/web/main.js --port 0`) as a child process, waits
// for its ready line and hands back the URL; stop() ends it with SIGTERM (which cancels flashes).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const READY = 'Blockwise is ready at ';
export const ROOT = path.resolve(__dirname, '..', '..');

export interface RunningHost {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** `port`: 0 (a free one), or a given one, as a host restarted with `--port N` would listen again. */
export async function startWebHost(env: NodeJS.ProcessEnv = {}, port = 0): Promise<RunningHost> {
  const main = path.join(ROOT, 'dist/electron/web/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first.`);
  if (!existsSync(path.join(ROOT, 'dist/renderer/index.html'))) throw new Error('dist/renderer is missing: run npm run build:web first.');
  const child: ChildProcess = spawn(process.execPath, [main, '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, BLOCKWISE_INCLUDE_LOOP: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the browser host printed no ready line in 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.startsWith(READY));
      if (line) {
        clearTimeout(timer);
        resolve(line.slice(READY.length).trim());
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the browser host exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
