// The packaged helper must line up: electron-builder.yml ships the launcher and the polkit policy
// to resources/linux, the policy's exec.path names exactly where the launcher lands in the .deb,
// the app looks for the launcher there (LAUNCHER_RESOURCE), the .deb's after-install puts the
// policy where polkit reads it, and the launcher really starts the helper with its arguments
// (run here in a miniature /opt/Blockwise whose "Electron" is this Node).

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { test } from 'node:test';
import type { EngineEvent } from '../engine/protocol';
import { LAUNCHER_RESOURCE } from './helper-transport';

const ROOT = path.resolve(__dirname, '../../..');
const LINUX_ASSETS = path.join(ROOT, 'assets/linux');
const LAUNCHER = path.join(LINUX_ASSETS, 'blockwise-helper');

interface BuilderConfig {
  productName: string;
  linux: { executableName: string };
  deb?: { afterInstall?: string; afterRemove?: string };
  extraResources: Array<{ from: string; to: string; filter: string[] }>;
  files: string[];
}

function builderConfig(): BuilderConfig {
  // js-yaml comes with electron-builder and eslint; the config is read the way the builder reads it.
  const yaml = require('js-yaml') as { load(text: string): unknown };
  return yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
}

function policyExecPath(): string {
  const policy = readFileSync(path.join(LINUX_ASSETS, 'io.blockwise.helper.policy'), 'utf8');
  const match = /<annotate key="org\.freedesktop\.policykit\.exec\.path">([^<]+)<\/annotate>/.exec(policy);
  assert.ok(match, 'the policy names no exec.path');
  return match[1]!;
}

test('the polkit policy names the launcher where the .deb installs it, and the app looks there', () => {
  const config = builderConfig();
  const entry = config.extraResources.find((r) => r.from.replace(/\/$/, '') === 'assets/linux');
  assert.ok(entry, 'electron-builder.yml does not ship assets/linux');
  assert.ok(entry.filter.includes('blockwise-helper'), 'the launcher is not shipped');
  assert.ok(entry.filter.some((f) => f === '*.policy' || f === 'io.blockwise.helper.policy'), 'the policy is not shipped');
  const installed = path.posix.join('/opt', config.productName, 'resources', entry.to, 'blockwise-helper');
  assert.equal(policyExecPath(), installed);
  assert.equal(path.posix.join(entry.to, 'blockwise-helper'), LAUNCHER_RESOURCE.split(path.sep).join('/'));
});

test('the launcher is an executable sh script running the app binary as Node on the shipped helper entry', () => {
  const config = builderConfig();
  assert.ok(statSync(LAUNCHER).mode & 0o111, 'assets/linux/blockwise-helper is not executable');
  const text = readFileSync(LAUNCHER, 'utf8');
  assert.match(text, /^#!\/bin\/sh\n/);
  assert.match(text, new RegExp(`ELECTRON_RUN_AS_NODE=1 exec "\\$app/${config.linux.executableName}" "\\$app/resources/app\\.asar/dist/electron/helper/main\\.js" "\\$@"`));
  assert.ok(existsSync(path.join(ROOT, 'dist/electron/helper/main.js')), 'the helper entry is not built where the launcher expects it');
  assert.ok(config.files.includes('dist/**/*'), 'dist/ is not packaged');
  execFileSync('sh', ['-n', LAUNCHER]);
});

test('the .deb installs the policy for polkit and removes it again', () => {
  const config = builderConfig();
  assert.ok(config.deb?.afterInstall && config.deb.afterRemove, 'electron-builder.yml has no deb after-install/remove scripts');
  const install = readFileSync(path.join(ROOT, config.deb.afterInstall), 'utf8');
  assert.match(install, /install -D -m 0644 "\$app\/resources\/linux\/io\.blockwise\.helper\.policy" \/usr\/share\/polkit-1\/actions\/io\.blockwise\.helper\.policy/);
  assert.match(install, /app='\/opt\/\$\{sanitizedProductName\}'/);
  const remove = readFileSync(path.join(ROOT, config.deb.afterRemove), 'utf8');
  assert.match(remove, /rm -f \/usr\/share\/polkit-1\/actions\/io\.blockwise\.helper\.policy/);
  for (const script of [config.deb.afterInstall, config.deb.afterRemove]) execFileSync('bash', ['-n', path.join(ROOT, script)]);
});

test('the launcher starts the helper with the arguments it was given (miniature install tree)', async () => {
  const tree = mkdtempSync(path.join(os.tmpdir(), 'blockwise-opt-'));
  try {
    const app = path.join(tree, 'opt', 'Blockwise');
    mkdirSync(path.join(app, 'resources', 'linux'), { recursive: true });
    mkdirSync(path.join(app, 'resources', 'app.asar'));
    symlinkSync(path.join(ROOT, 'dist'), path.join(app, 'resources', 'app.asar', 'dist'));
    // Electron stands in as this Node, and insists on being told to behave as Node.
    writeFileSync(path.join(app, 'blockwise'), `#!/bin/sh\n[ "$ELECTRON_RUN_AS_NODE" = 1 ] || exit 99\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
    const launcher = path.join(app, 'resources', 'linux', 'blockwise-helper');
    writeFileSync(launcher, readFileSync(LAUNCHER), { mode: 0o755 });

    const child = spawn(launcher, ['--device', '/dev/blockwise-a', '--device', '/dev/blockwise-b'], { stdio: ['pipe', 'pipe', 'inherit'], env: {} });
    const line = new Promise<string>((resolve) => readline.createInterface({ input: child.stdout }).once('line', resolve));
    child.stdin.write(JSON.stringify({ type: 'verify', id: 5, job: { source: { kind: 'file', path: '/x.img' }, target: { path: '/dev/sdz' } } }) + '\n');
    const event = JSON.parse(await line) as EngineEvent;
    assert.ok(event.type === 'error' && event.error.code === 'TARGET_NOT_ALLOWED', JSON.stringify(event));
    assert.match(event.error.message, /started for \/dev\/blockwise-a, \/dev\/blockwise-b only and refuses \/dev\/sdz/);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin.end();
    assert.equal(await exited, 0);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});

test('/usr/bin/blockwise opens the app without a command and runs the CLI on the app\'s own Node with one', async () => {
  const config = builderConfig();
  const entry = config.extraResources.find((r) => r.from.replace(/\/$/, '') === 'assets/linux');
  assert.ok(entry?.filter.includes('blockwise-command'), 'the command launcher is not shipped');
  const install = readFileSync(path.join(ROOT, config.deb!.afterInstall!), 'utf8');
  assert.match(install, /ln -sf "\$app\/resources\/linux\/blockwise-command" '\/usr\/bin\/\$\{executable\}'/);
  const launcherText = readFileSync(path.join(LINUX_ASSETS, 'blockwise-command'), 'utf8');
  assert.match(launcherText, /^#!\/bin\/sh\n/);
  assert.match(launcherText, new RegExp(`"\\$app/${config.linux.executableName}" "\\$app/resources/app\\.asar/bin/blockwise\\.js" "\\$@"`));

  const tree = mkdtempSync(path.join(os.tmpdir(), 'blockwise-opt-'));
  try {
    const app = path.join(tree, 'opt', 'Blockwise');
    const asar = path.join(app, 'resources', 'app.asar');
    mkdirSync(path.join(app, 'resources', 'linux'), { recursive: true });
    mkdirSync(asar);
    for (const part of ['dist', 'bin', 'package.json']) symlinkSync(path.join(ROOT, part), path.join(asar, part));
    // Electron stands in as this Node when told to run as Node, and otherwise says it is the app.
    writeFileSync(
      path.join(app, 'blockwise'),
      `#!/bin/sh\nif [ "\${ELECTRON_RUN_AS_NODE-}" = 1 ]; then exec ${process.execPath} "$@"; fi\necho "desktop app: $*"\n`,
      { mode: 0o755 },
    );
    const launcher = path.join(app, 'resources', 'linux', 'blockwise-command');
    writeFileSync(launcher, readFileSync(path.join(LINUX_ASSETS, 'blockwise-command')), { mode: 0o755 });
    // Run as the .deb does: through /usr/bin/blockwise, a link to the launcher.
    mkdirSync(path.join(tree, 'usr', 'bin'), { recursive: true });
    const command = path.join(tree, 'usr', 'bin', 'blockwise');
    symlinkSync(launcher, command);
    const run = (...args: string[]) => spawnSync(command, args, { encoding: 'utf8', env: { PATH: process.env.PATH } });

    const version = run('--version');
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    assert.equal(run().stdout, 'desktop app: \n');
    assert.equal(run('--no-sandbox').stdout, 'desktop app: --no-sandbox\n', 'a Chromium switch is the app\'s');
    const typo = run('flsh', 'x.img');
    assert.equal(typo.status, 2);
    assert.match(typo.stderr, /blockwise: unknown command "flsh"/);
    const help = run('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /blockwise flash/);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});
