// Runs the CLI on a pseudo-terminal (as a person at a terminal does), types `keys` once `prompt`
// appears, and returns what it printed and how it exited. Python's pty module does the terminal:
// Node has none built in. For the confirmation question, which only a terminal gets.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { BIN } from './cli-process';

const PYTHON = '/usr/bin/python3';

const SCRIPT = String.raw`
import json, os, pty, select, sys, time
prompt, keys = sys.argv[1].encode(), bytes.fromhex(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[3], sys.argv[3:])
out, sent, status = b'', False, None
deadline = time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            out += os.read(fd, 65536)
        except OSError:
            pass
    if not sent and prompt in out:
        os.write(fd, keys)
        sent = True
    done, code = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(code)
        break
if status is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print(json.dumps({'output': out.decode('utf8', 'replace'), 'code': status}))
`;

/** Why the CLI cannot be run on a terminal here, or undefined. */
export function ptySkipReason(): string | undefined {
  return existsSync(PYTHON) ? undefined : `${PYTHON} is missing (it provides the pseudo-terminal)`;
}

/** `code` is null when the command had not ended within 60 s (it was killed). */
export function runOnTerminal(args: string[], prompt: string, keys: Buffer, env: NodeJS.ProcessEnv): { output: string; code: number | null } {
  const r = spawnSync(PYTHON, ['-c', SCRIPT, prompt, keys.toString('hex'), process.execPath, BIN, ...args], { encoding: 'utf8', env, timeout: 90_000 });
  if (r.status !== 0) throw new Error(`the terminal runner failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { output: string; code: number | null };
}
