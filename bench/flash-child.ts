// One flash in a process of its own, so the benchmark can report the engine's peak RSS and not its
// own. Usage: node dist/bench/flash-child.js '<FlashJob as JSON>'; prints one JSON line.

// First: sizes libuv's thread pool before anything uses it (io-threads.ts).
import '../electron/engine/io-threads';
import { readFileSync } from 'node:fs';
import { serializeError } from '../shared/errors';
import type { FlashJob } from '../shared/flash-types';
import { runFlash } from '../electron/engine/flash';
import '../electron/engine/sources/register';

/**
 * This process's own peak resident set. Not process.resourceUsage().maxRSS: Linux folds the
 * parent's RSS at fork into the child's ru_maxrss at exec, so a benchmark that had built a big
 * image in memory made the engine look ~400 MB heavy. VmHWM belongs to this process's memory only.
 */
function peakRss(): number {
  try {
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib) return Number(kib) * 1024;
  } catch {
    // not Linux: fall back to getrusage, which is right when the parent is small
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as FlashJob;
  const controller = new AbortController();
  process.on('SIGTERM', () => controller.abort());
  try {
    const result = await runFlash(job, { signal: controller.signal, onProgress: () => {} });
    console.log(JSON.stringify({ result, peakRss: peakRss() }));
  } catch (error) {
    console.log(JSON.stringify({ error: serializeError(error), peakRss: peakRss() }));
    process.exitCode = 1;
  }
}

void main();
