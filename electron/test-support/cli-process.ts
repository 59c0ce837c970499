// The real `blockwise` command for the CLI tests: its entry script, and one run of it to the end.

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** bin/blockwise.js, from the compiled test's folder (dist/electron/<dir>/). */
export const BIN = path.resolve(__dirname, '../../../bin/blockwise.js');

/** The environment with loop devices listed and accepted (BLOCKWISE_INCLUDE_LOOP=1). */
export const LOOP_ENV = { ...process.env, BLOCKWISE_INCLUDE_LOOP: '1' };

/** Runs the command to its end (no input, at most two minutes) with loop devices allowed. */
export function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: LOOP_ENV, input: '', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
