// `npm run bench`: every benchmark section in order, each in its own try, then one summary.
// Sections are modules in dist/bench exporting `run()`; those not built (yet) are skipped. Loop
// devices and throttles are undone on the way out, also after a failure or Ctrl-C.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { cleanupAll, hookSignals, type Row } from './bench-kit';

const SECTIONS = ['raw', 'fan-out', 'sparse', 'compressed', 'decompressors', 'bmap'];

interface Outcome {
  section: string;
  status: 'ok' | 'missed goals' | 'failed' | 'not built';
  seconds: number;
  rows: Row[];
  error?: string;
}

function looksLikeRows(value: unknown): value is Row[] {
  return Array.isArray(value) && value.every((r) => r && typeof r === 'object' && 'metric' in r && 'value' in r);
}

async function runSection(section: string): Promise<Outcome> {
  const file = path.join(__dirname, `${section}.js`);
  if (!existsSync(file)) return { section, status: 'not built', seconds: 0, rows: [] };
  console.log(`\n=== ${section} ===`);
  const started = performance.now();
  try {
    const mod = (await import(file)) as { run?: () => Promise<unknown> };
    if (typeof mod.run !== 'function') throw new Error(`${section}.js exports no run()`);
    const out = await mod.run();
    const rows = looksLikeRows(out) ? out : [];
    const missed = rows.some((r) => r.ok === false);
    return { section, status: missed ? 'missed goals' : 'ok', seconds: (performance.now() - started) / 1000, rows };
  } catch (error) {
    console.error(`${section} failed:`, error);
    return { section, status: 'failed', seconds: (performance.now() - started) / 1000, rows: [], error: String((error as Error)?.message ?? error) };
  } finally {
    // Whatever a section left behind is undone before the next one measures anything.
    cleanupAll();
  }
}

async function main(): Promise<void> {
  hookSignals();
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const outcomes: Outcome[] = [];
  for (const section of SECTIONS) {
    if (only.length > 0 && !only.includes(section)) continue;
    outcomes.push(await runSection(section));
  }
  console.log('\n=== summary ===');
  for (const o of outcomes) {
    const line = `${o.section.padEnd(14)} ${o.status.padEnd(13)} ${o.seconds ? `${o.seconds.toFixed(0)} s` : ''}`;
    console.log(o.error ? `${line}  ${o.error.split('\n')[0]}` : line);
    for (const r of o.rows.filter((r) => r.goal !== undefined)) {
      console.log(`    ${r.ok ? 'ok    ' : 'MISSED'} ${r.metric}: ${r.value} (goal ${r.goal})`);
    }
  }
  if (outcomes.some((o) => o.status === 'failed')) process.exitCode = 1;
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(cleanupAll);
