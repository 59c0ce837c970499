// Decompressor candidates on the same files in one run (`node dist/bench/decompressors.js`):
// the table that decided which library decodes each format in electron/engine/sources/.

import { execSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { fzstdStream } from '../electron/engine/sources/zstd-source';
import { streamXz, xzStream } from '../electron/engine/sources/xz-source';
import { bunzip2Stream } from '../electron/engine/sources/bzip2-source';
import { chooseTool } from '../electron/engine/sources/decoder-choice';
import { toolDecoder } from '../electron/engine/sources/tool-decoder';

export interface Row {
  format: string;
  candidate: string;
  seconds: number;
  mbPerSecond: number;
}

const MiB = 1 << 20;

function mixedImage(size: number): Buffer {
  const out = Buffer.alloc(size);
  const line = Buffer.from('Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n');
  for (let at = 0; at < size; at += 4 * MiB) {
    const kind = (at / (4 * MiB)) % 4;
    if (kind === 0) for (let i = at; i < Math.min(size, at + 4 * MiB); i += 65536) require('node:crypto').randomFillSync(out, i, Math.min(65536, size - i));
    else if (kind >= 2) for (let i = at; i < Math.min(size, at + 4 * MiB); i += line.length) line.copy(out, i);
  }
  return out;
}

async function count(chunks: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of chunks) n += c.length;
  return n;
}

const chunks = (file: string) => createReadStream(file, { highWaterMark: MiB }) as AsyncIterable<Buffer>;

export async function run(size = 128 * MiB): Promise<Row[]> {
  const dir = mkdtempSync('/dev/shm/blockwise-decomp-');
  const rows: Row[] = [];
  try {
    const img = path.join(dir, 'mix.img');
    writeFileSync(img, mixedImage(size));
    execSync(`gzip -k -1 ${img} && xz -k -T2 -3 ${img} && xz -T1 -3 -c ${img} > ${img}.1.xz && zstd -q -T2 ${img} && bzip2 -k -1 ${img}`);
    const time = async (format: string, candidate: string, fn: () => Promise<number>) => {
      const t0 = performance.now();
      let n = 0;
      try {
        n = await fn();
      } catch (error) {
        console.log(`${format} ${candidate}: failed (${(error as Error).message})`);
        return;
      }
      const seconds = (performance.now() - t0) / 1000;
      if (n !== size) console.log(`${format} ${candidate}: wrong size ${n}`);
      rows.push({ format, candidate, seconds, mbPerSecond: size / 1e6 / seconds });
    };
    const cli = (cmd: string) => async () => Number(execSync(`${cmd} | wc -c`, { shell: '/bin/bash' }).toString().trim());
    // The system tool as the engine runs it: our reads piped to its stdin, its stdout read back.
    const viaTool = async (format: 'gzip' | 'xz' | 'zstd' | 'bzip2', file: string) => {
      const tool = chooseTool(format, { ...process.env, BLOCKWISE_DECODER: 'system' });
      if (!tool) throw new Error(`no ${format} tool on PATH`);
      return count(toolDecoder(tool)(chunks(file), { name: 'x' }, {}));
    };
    await time('gzip', 'gzip -dc (CLI, reference)', cli(`gzip -dc ${img}.gz`));
    await time('gzip', 'pigz -dc (CLI)', cli(`pigz -dc ${img}.gz`));
    await time('gzip', 'Blockwise: pigz child process', () => viaTool('gzip', `${img}.gz`));
    await time('gzip', 'node zlib', () => count(Readable.from(chunks(`${img}.gz`)).pipe(zlib.createGunzip({ chunkSize: MiB }))));
    await time('xz multi-block', 'xz -dc -T1 (CLI, reference)', cli(`xz -dc -T1 ${img}.xz`));
    await time('xz multi-block', 'xz -dc -T0 (CLI)', cli(`xz -dc -T0 ${img}.xz`));
    await time('xz multi-block', 'Blockwise: xz -T0 child process', () => viaTool('xz', `${img}.xz`));
    await time('xz multi-block', 'Blockwise: @napi-rs/lzma blocks in parallel', () => count(xzStream(chunks(`${img}.xz`), { name: 'x' }, {})));
    await time('xz multi-block', 'xz-decompress (WASM) stream', () => count(streamXz(chunks(`${img}.xz`))));
    await time('xz single-block', 'xz-decompress (WASM) stream', () => count(streamXz(chunks(`${img}.1.xz`))));
    await time('xz single-block', 'lzma-native stream', async () => {
      const lzma = require('lzma-native') as { createDecompressor(o?: object): NodeJS.ReadWriteStream };
      return count(Readable.from(chunks(`${img}.1.xz`)).pipe(lzma.createDecompressor({ bufsize: MiB })) as unknown as AsyncIterable<Buffer>);
    });
    await time('zstd', 'zstd -dc (CLI, reference)', cli(`zstd -dc ${img}.zst`));
    if ('createZstdDecompress' in zlib) await time('zstd', 'node zlib zstd', () => count(Readable.from(chunks(`${img}.zst`)).pipe((zlib as unknown as { createZstdDecompress(): NodeJS.ReadWriteStream }).createZstdDecompress()) as unknown as AsyncIterable<Buffer>));
    await time('zstd', 'Blockwise: zstd child process', () => viaTool('zstd', `${img}.zst`));
    await time('zstd', 'fzstd (pure JS) stream', () => count(fzstdStream(chunks(`${img}.zst`))));
    // What the libzstd thread does on Node 20 (zstd-thread.ts): the addon decoding into one buffer.
    await time('zstd', 'zstd-napi (N-API) into a 4 MiB buffer', async () => {
      const binding = require('zstd-napi/binding') as {
        DCtx: new () => { decompressStream(out: Uint8Array, input: Uint8Array): [number, number, number] };
      };
      const context = new binding.DCtx();
      const out = Buffer.allocUnsafe(4 * MiB);
      let n = 0;
      for await (const chunk of chunks(`${img}.zst`)) {
        for (let at = 0; at < chunk.length; ) {
          const [, made, used] = context.decompressStream(out, chunk.subarray(at));
          at += used;
          n += made;
        }
      }
      for (let made = -1; made !== 0; n += made) made = context.decompressStream(out, Buffer.alloc(0))[1];
      return n;
    });
    await time('bzip2', 'bzip2 -dc (CLI, reference)', cli(`bzip2 -dc ${img}.bz2`));
    await time('bzip2', 'lbzip2 -dc (CLI)', cli(`lbzip2 -dc ${img}.bz2`));
    await time('bzip2', 'Blockwise: lbzip2 child process', () => viaTool('bzip2', `${img}.bz2`));
    await time('bzip2', 'unbzip2-stream', () => count(bunzip2Stream(chunks(`${img}.bz2`), { name: 'x' }, {})));
    await time('bzip2', 'seek-bzip (whole buffer)', async () => (require('seek-bzip') as { decode(b: Buffer): Buffer }).decode(readFileSync(`${img}.bz2`)).length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Printed here, so `npm run bench` shows the table too (its rows are not metric/value rows).
  console.log('| format | candidate | seconds | MB/s |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.format} | ${r.candidate} | ${r.seconds.toFixed(2)} | ${r.mbPerSecond.toFixed(0)} |`);
  return rows;
}

if (require.main === module) {
  void run();
}
