// The browser host as people start it: a real process, its printed URL, its exit on SIGTERM; and
// `npm start`'s launcher where Electron's binary is missing.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { READY_PREFIX } from '../../shared/ws-protocol';
import { parsePort } from './main';

const root = path.resolve(__dirname, '..', '..', '..');

describe('browser host program', () => {
  it('parses --port and BLOCKWISE_PORT', () => {
    assert.equal(parsePort([], {}), 0);
    assert.equal(parsePort(['--port', '8123'], {}), 8123);
    assert.equal(parsePort(['--port=0'], { BLOCKWISE_PORT: '9000' }), 0);
    assert.equal(parsePort([], { BLOCKWISE_PORT: '9000' }), 9000);
    assert.throws(() => parsePort(['--port', 'http'], {}), /Invalid port "http"/);
    assert.throws(() => parsePort(['--port', '70000'], {}), /0 to 65535/);
    assert.throws(() => parsePort(['--verbose'], {}), /Unknown option --verbose/);
  });

  it('prints a token URL on 127.0.0.1 that serves the app, and stops on SIGTERM', async () => {
    const config = mkdtempSync(path.join(os.tmpdir(), 'blockwise-webmain-'));
    const child = spawn(process.execPath, [path.join(root, 'dist', 'electron', 'web', 'main.js'), '--port', '0'], {
      env: { ...process.env, BLOCKWISE_CONFIG_DIR: config },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout! });
      let url: string | undefined;
      for await (const line of lines) {
        if (line.startsWith(READY_PREFIX)) {
          url = line.slice(READY_PREFIX.length);
          break;
        }
      }
      assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
      const status = await new Promise<number>((resolve, reject) => http.get(url!, (res) => resolve(res.statusCode ?? 0)).on('error', reject));
      // 200 once the renderer is built (npm run build:web), 404 with a hint before.
      assert.ok(status === 200 || status === 404, `status ${status}`);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(config, { recursive: true, force: true });
    }
  });

  it('npm start explains a missing Electron binary and points to the browser host', (t) => {
    let hasBinary = false;
    try {
      hasBinary = typeof require('electron') === 'string';
    } catch {
      hasBinary = false;
    }
    if (hasBinary) return t.skip('Electron binary present: npm start launches the app');
    const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'start-electron.mjs')], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /Electron's binary is not installed/);
    assert.match(run.stderr, /npm run start:web/);
  });
});
