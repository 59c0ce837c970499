// Which decoder runs for each format, chosen by measurement (bench/decompressors.ts): where the
// system has the tool, xz, zstd and bzip2 decode in a child process (xz -T0 decodes multi-block
// files in parallel; lbzip2 decodes bzip2 blocks in parallel), 3–6× faster than any in-process
// decoder measured. gzip stays in-process: Node's zlib beat gzip and pigz (pigz cannot decode in
// parallel), and so does zstd where Node has it (below). Windows, or a missing tool, gets the
// in-process decoders.
// BLOCKWISE_DECODER=builtin|system forces one family (tests run the whole matrix with each).

import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';
import type { StreamDecoder } from './decoded-source';
import type { SourceFormat } from './source';
import { toolDecoder, type DecoderTool } from './tool-decoder';
import { nodeHasZstd } from './zstd-source';

export type DecoderFamily = 'builtin' | 'system';

/** Tools per format, best first, with the arguments that make them decode stdin to stdout. */
const TOOLS: Partial<Record<SourceFormat, Array<Omit<DecoderTool, 'path'>>>> = {
  // -T0: parallel decoding of multi-block files (xz ≥ 5.4); -Q: warnings don't change the exit code.
  xz: [{ name: 'xz', args: ['-dc', '-T0', '-Q'] }],
  // Images made with --long=31 need a 2 GiB window; zstd refuses more than 128 MiB by default.
  zstd: [{ name: 'zstd', args: ['-dcq', '--no-progress', '--memory=2048MB'] }],
  bzip2: [
    // lbzip2 reports a file cut short as a bad block header where the end-of-stream mark should be.
    { name: 'lbzip2', args: ['-dc'], ranOutAtEnd: /bad block header magic/ },
    { name: 'pbzip2', args: ['-dc'] },
    { name: 'bzip2', args: ['-dc'] },
  ],
  gzip: [
    { name: 'pigz', args: ['-dc'] },
    { name: 'gzip', args: ['-dc'] },
  ],
};

/**
 * Family used when nothing is forced: measured winner per format. zstd: Node's own libzstd
 * (zlib, Node 22.15+ and so Electron) beat the zstd child on Node 22.23 here, 1.17 s against
 * 1.46–1.51 s for a 1 GiB image to a RAM-backed drive (no pipe between decoder and writer);
 * without it (Node 20) the child beats fzstd 3.6×. (A local .zst goes to the libzstd thread
 * before this is asked, with zlib's or the zstd-napi addon's libzstd: zstd-source.ts.)
 */
function preferred(format: SourceFormat): DecoderFamily | undefined {
  if (format === 'zstd') return nodeHasZstd() ? 'builtin' : 'system';
  const measured: Partial<Record<SourceFormat, DecoderFamily>> = { xz: 'system', bzip2: 'system', gzip: 'builtin' };
  return measured[format];
}

export function forcedFamily(env: NodeJS.ProcessEnv = process.env): DecoderFamily | undefined {
  const value = env.BLOCKWISE_DECODER;
  return value === 'builtin' || value === 'system' ? value : undefined;
}

const found = new Map<string, string | undefined>();

/** Absolute path of an executable on PATH (cached), without running a shell. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = `${name}\0${env.PATH ?? ''}`;
  if (found.has(key)) return found.get(key);
  let result: string | undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) {
        result = candidate;
        break;
      }
    } catch {
      /* not here */
    }
  }
  found.set(key, result);
  return result;
}

/** The tool that decodes `format` in this run, or undefined for the in-process decoder. */
export function chooseTool(format: SourceFormat, env: NodeJS.ProcessEnv = process.env): DecoderTool | undefined {
  if (process.platform === 'win32') return undefined;
  const family = forcedFamily(env) ?? preferred(format) ?? 'builtin';
  if (family !== 'system') return undefined;
  for (const tool of TOOLS[format] ?? []) {
    const executable = findExecutable(tool.name, env);
    if (executable) return { ...tool, path: executable };
  }
  return undefined;
}

/** A decoder that decides per stream (so a test can switch families between flashes). */
export function preferringTool(format: SourceFormat, builtin: StreamDecoder): StreamDecoder {
  return (input, meta, facts) => {
    const tool = chooseTool(format);
    return tool ? toolDecoder(tool)(input, meta, facts) : builtin(input, meta, facts);
  };
}
