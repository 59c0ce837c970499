// One flash in a process of its own, so the benchmark can report the engine's peak RSS and not its
// own. Usage: node dist/bench/flash-child.js '<FlashJob as JSON>'; prints one JSON line.

import { serializeError } from '../shared/errors';
import type { FlashJob } from '../shared/flash-types';
import { runFlash } from '../electron/engine/flash';
import '../electron/engine/sources/register';

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as FlashJob;
  const controller = new AbortController();
  process.on('SIGTERM', () => controller.abort());
  try {
    const result = await runFlash(job, { signal: controller.signal, onProgress: () => {} });
    // maxRSS is the kernel's high-water mark of this process (VmHWM), in KiB on Linux.
    console.log(JSON.stringify({ result, peakRss: process.resourceUsage().maxRSS * 1024 }));
  } catch (error) {
    console.log(JSON.stringify({ error: serializeError(error), peakRss: process.resourceUsage().maxRSS * 1024 }));
    process.exitCode = 1;
  }
}

void main();
