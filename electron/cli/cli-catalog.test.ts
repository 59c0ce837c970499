// `blockwise catalog URL`, the real command against a catalog served on 127.0.0.1: each image with
// the command that flashes it (its SHA-256 included), groups by name, --json, and the words and
// exit codes for what is no catalog.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SAMPLE_CATALOG } from '../test-support/sample-catalog';
import { BIN } from '../test-support/cli-process';

/** The command, run without blocking this process (its server answers the command). */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('blockwise catalog', () => {
  let server: http.Server;
  let base = '';
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/os_list.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(SAMPLE_CATALOG));
      } else if (req.url === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>Downloads</title>');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('lists each image with the command that flashes it, groups by name, and what was left out', async () => {
    const r = await run(['catalog', `${base}/os_list.json`]);
    assert.equal(r.code, 0, r.stderr);
    const sha = 'ab'.repeat(32);
    assert.match(r.stdout, new RegExp(`^Raspberry Pi OS \\(64-bit\\)\\n  A port of Debian Bookworm with the Raspberry Pi Desktop\\n  2025-05-13, 1\\.2 GB download, 6\\.0 GB image\\n  blockwise flash ${base}/images/raspios-arm64\\.img\\.xz --sha256 ${sha} --to DEVICE\\n`));
    assert.match(r.stdout, /\nRaspberry Pi OS \(other\) › Raspberry Pi OS Lite \(64-bit\)\n {2}400 MB download\n {2}blockwise flash https:\/\/example\.org\/lite\.img\.xz --sha256 (ef){32} --to DEVICE\n/);
    assert.match(r.stdout, new RegExp(`\\nOther general-purpose OS\\n  more in another catalog: blockwise catalog ${base}/more/os_list\\.json\\n`));
    assert.match(r.stdout, new RegExp(`\\n2 images in ${base}/os_list\\.json\\n2 entries left out: no http\\(s\\) image address Blockwise can write\\.\\n$`));
  });

  test('--json prints the catalog as one line', async () => {
    const r = await run(['catalog', `${base}/os_list.json`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const out = JSON.parse(lines[0]!) as { type: string; catalog: { url: string; entries: { name: string }[]; skipped: number } };
    assert.equal(out.type, 'catalog');
    assert.deepEqual(out.catalog.entries.map((e) => e.name), ['Raspberry Pi OS (64-bit)', 'Raspberry Pi OS (other)', 'Other general-purpose OS']);
    assert.equal(out.catalog.skipped, 2);
  });

  test('what is no catalog: exit 1 with what it is and what to do; a bad argument: exit 2', async () => {
    const page = await run(['catalog', `${base}/index.html`]);
    assert.equal(page.code, 1);
    assert.match(page.stderr, new RegExp(`${base}/index\\.html is not a catalog of images: it is a web page \\(HTML\\), not a catalog\\.`));
    assert.match(page.stderr, /Raspberry Pi Imager’s JSON format/);
    const missing = await run(['catalog', `${base}/gone.json`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /gone\.json/);
    assert.match(missing.stderr, /404/);
    const file = await run(['catalog', '/etc/passwd']);
    assert.equal(file.code, 2);
    assert.match(file.stderr, /\/etc\/passwd: a catalog is read from an http:\/\/ or https:\/\/ address/);
    const typo = await run(['catalog', '--jsn']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown option --jsn for catalog \(did you mean --json\?\)/);
  });
});
