import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { createLoopDevice, isRoot, loopSkipReason } from '../test-support/loop-device';
import { declinedExit, defaultElevator, launchCommand, needsElevation, shellQuote, type HelperProgram } from './elevation';

const node: HelperProgram = { executable: '/usr/bin/node', script: '/opt/bw/helper/main.js' };
const electron: HelperProgram = { executable: '/opt/Blockwise/blockwise', script: '/opt/Blockwise/resources/app/helper/main.js', electron: true };

test('pkexec and sudo pass the helper, its one device and the loop opt-in', () => {
  assert.deepEqual(launchCommand('pkexec', node, { devices: ['/dev/sdb'] }), {
    command: 'pkexec',
    args: ['/usr/bin/node', '/opt/bw/helper/main.js', '--device', '/dev/sdb'],
    stdio: true,
  });
  assert.deepEqual(launchCommand('pkexec', electron, { devices: ['/dev/sdb'], includeLoop: true }).args, [
    'env', 'ELECTRON_RUN_AS_NODE=1', '/opt/Blockwise/blockwise', '/opt/Blockwise/resources/app/helper/main.js', '--device', '/dev/sdb', '--include-loop',
  ]);
  assert.deepEqual(launchCommand('sudo', node, { devices: ['/dev/sdc'] }), {
    command: 'sudo',
    args: ['--', '/usr/bin/node', '/opt/bw/helper/main.js', '--device', '/dev/sdc'],
    stdio: true,
  });
  assert.deepEqual(launchCommand('none', node, { devices: ['/dev/sdc'] }).command, '/usr/bin/node');
});

test('one helper for a multi-drive job: every drive, the app uid; the installed launcher comes first for pkexec', () => {
  const launcher: HelperProgram = { executable: '/opt/Blockwise/resources/linux/blockwise-helper', electron: true };
  assert.deepEqual(launchCommand('pkexec', launcher, { devices: ['/dev/sdb', '/dev/sdc'], uid: 1000 }), {
    command: 'pkexec',
    // No `env` prefix: pkexec picks the polkit action by the program it runs, the launcher.
    args: ['/opt/Blockwise/resources/linux/blockwise-helper', '--device', '/dev/sdb', '--device', '/dev/sdc', '--uid', '1000'],
    stdio: true,
  });
});

test('macOS: osascript with administrator privileges, connecting back over a socket', () => {
  const cmd = launchCommand('osascript', { executable: '/Applications/Blockwise.app/Contents/MacOS/Blockwise', script: "/tmp/it's/main.js", electron: true }, {
    devices: ['/dev/disk4'],
    connect: '/tmp/bw/engine.sock',
  });
  assert.equal(cmd.command, 'osascript');
  assert.equal(cmd.stdio, false);
  assert.equal(cmd.args[0], '-e');
  assert.equal(
    cmd.args[1],
    `do shell script "env ELECTRON_RUN_AS_NODE=1 /Applications/Blockwise.app/Contents/MacOS/Blockwise '/tmp/it'\\\\''s/main.js' --device /dev/disk4 --connect /tmp/bw/engine.sock" with prompt "Blockwise needs to write to /dev/disk4." with administrator privileges`,
  );
  assert.throws(() => launchCommand('osascript', node, { devices: ['/dev/disk4'] }), /socket/);
});

test('Windows: UAC through Start-Process -Verb RunAs, connecting back over a named pipe', () => {
  const cmd = launchCommand('uac', { executable: 'C:\\Program Files\\Blockwise\\Blockwise.exe', script: 'C:\\Program Files\\Blockwise\\resources\\helper\\main.js', electron: true }, {
    devices: ['\\\\.\\PhysicalDrive2'],
    connect: '\\\\.\\pipe\\blockwise-helper-1',
  });
  assert.equal(cmd.command, 'powershell.exe');
  assert.equal(cmd.stdio, false);
  assert.equal(
    cmd.args.at(-1),
    "$env:ELECTRON_RUN_AS_NODE = 1; $p = Start-Process -FilePath 'C:\\Program Files\\Blockwise\\Blockwise.exe' -ArgumentList " +
      "'C:\\Program Files\\Blockwise\\resources\\helper\\main.js','--device','\\\\.\\PhysicalDrive2','--connect','\\\\.\\pipe\\blockwise-helper-1' " +
      '-Verb RunAs -WindowStyle Hidden -PassThru -Wait; exit $p.ExitCode',
  );
});

test('shell quoting survives a round trip through sh', () => {
  for (const arg of ['/plain/path', "it's", 'two words', '$HOME `x` "q"', '']) {
    assert.equal(execFileSync('sh', ['-c', `printf %s ${shellQuote(arg) || "''"}`], { encoding: 'utf8' }), arg);
  }
});

test('declined prompts are told apart from a helper that ran', () => {
  assert.equal(declinedExit('pkexec', 126, false), true);
  assert.equal(declinedExit('pkexec', 127, false), true);
  assert.equal(declinedExit('pkexec', 126, true), false, 'the helper spoke, so the prompt was accepted');
  assert.equal(declinedExit('pkexec', 1, false), false);
  assert.equal(declinedExit('uac', 1223, false), true);
  assert.equal(declinedExit('none', 126, false), false);
  assert.equal(declinedExit('sudo', null, false), false);
});

test('default elevator per platform', () => {
  assert.equal(defaultElevator('linux', false), 'pkexec');
  assert.equal(defaultElevator('linux', true), 'sudo');
  assert.equal(defaultElevator('darwin', false), 'osascript');
  assert.equal(defaultElevator('win32', true), 'uac');
});

test('needsElevation: root writes in-process; an unprivileged user needs the helper', { skip: loopSkipReason() }, async () => {
  const loop = createLoopDevice(MiB());
  try {
    assert.equal(isRoot(), true);
    assert.equal(await needsElevation(loop.path), false);
    assert.equal(await needsElevation('/dev/blockwise-does-not-exist'), false, 'a missing device is the engine\'s to report');
    // The same question asked by uid 65534 (nobody), in a real child process.
    const module = path.join(__dirname, 'elevation.js');
    const answer = execFileSync(process.execPath, ['-e', `require(${JSON.stringify(module)}).needsElevation(${JSON.stringify(loop.path)}).then((v) => process.stdout.write(String(v)))`], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
    });
    assert.equal(answer, 'true');
  } finally {
    loop.dispose();
  }
});

function MiB(): number {
  return 1 << 20;
}
