// Test support: disk images built the way real ones are — sfdisk tables, mkfs.ext4 -d / mkfs.vfat
// + mcopy filesystems written into partition offsets, real files (some later deleted, so free
// space holds stale data) — without mounting anything. Only used by tests and the benchmark.

import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';

export const MiB = 1024 * 1024;

export type FsKind = 'ext2' | 'ext3' | 'ext4' | 'fat16' | 'fat32' | 'raw';

export interface PartitionSpec {
  fs: FsKind;
  size: number;
  /** sfdisk type: a hex MBR type ("c", "83") or a GPT type GUID / alias ("U", "L"). */
  type: string;
  /** Extra mkfs options, e.g. ["-b", "1024", "-O", "^flex_bg"]. */
  mkfs?: string[];
  /** MBR only: put this partition inside the extended partition. */
  logical?: boolean;
  /** Directory whose files go in (default: generated random files). */
  content?: string;
  /** Share of the filesystem filled by a file that is then deleted (default 0.15). */
  deleted?: number;
}

export interface BuiltPartition {
  spec: PartitionSpec;
  offset: number;
  size: number;
  /** Files in the filesystem, path (from its root) → content. */
  files: Map<string, Buffer>;
}

export interface BuiltImage {
  file: string;
  size: number;
  partitions: BuiltPartition[];
}

/** Small deterministic PRNG so failures reproduce. */
function prng(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = Buffer.alloc((n + 3) & ~3);
    for (let i = 0; i < out.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out.writeUInt32LE(x >>> 0, i);
    }
    return out.subarray(0, n);
  };
}

/** Writes random files of varied sizes (incl. empty and odd sizes) under `dir`. */
export function makeContent(dir: string, seed: number, totalApprox: number): void {
  const random = prng(seed);
  const sizes = [0, 1, 511, 4096, 4097, 65537, 300_000, 1_048_577];
  mkdirSync(path.join(dir, 'sub', 'deeper'), { recursive: true });
  let total = 0;
  for (let i = 0; total < totalApprox; i++) {
    const size = sizes[i % sizes.length]! + (i % 7) * 1234;
    const where = i % 3 === 0 ? 'sub' : i % 3 === 1 ? path.join('sub', 'deeper') : '.';
    writeFileSync(path.join(dir, where, `file${i}.bin`), random(size + 3).subarray(0, size));
    total += size;
  }
}

function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const p = path.join(rel, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(root, p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
}

/** Makes one filesystem as its own file; returns the files it holds. */
function makeFilesystem(file: string, spec: PartitionSpec, workDir: string, seed: number): Map<string, Buffer> {
  writeFileSync(file, '');
  truncateSync(file, spec.size);
  if (spec.fs === 'raw') {
    const fd = openSync(file, 'r+');
    const random = prng(seed);
    for (let at = 0; at < spec.size; at += MiB) writeSync(fd, random(Math.min(MiB, spec.size - at)), 0, Math.min(MiB, spec.size - at), at);
    closeSync(fd);
    return new Map();
  }
  const content = spec.content ?? path.join(workDir, `content-${seed}`);
  if (!spec.content) makeContent(content, seed, Math.floor(spec.size * 0.3));
  // A file that is written and then deleted leaves stale bytes in space the filesystem calls free.
  const junk = path.join(workDir, `junk-${seed}`);
  mkdirSync(junk, { recursive: true });
  writeFileSync(path.join(junk, 'deleted.bin'), prng(seed ^ 0x5555)(Math.floor(spec.size * (spec.deleted ?? 0.15)) & ~3));
  if (spec.fs.startsWith('ext')) {
    // -d takes one directory: put the junk file in beside the content, then delete it.
    execFileSync('cp', ['-a', path.join(junk, 'deleted.bin'), path.join(content, 'deleted.bin')]);
    run(`mkfs.${spec.fs}`, ['-q', '-F', ...(spec.mkfs ?? []), '-d', content, file]);
    run('debugfs', ['-w', '-R', 'rm /deleted.bin', file]);
    execFileSync('rm', ['-f', path.join(content, 'deleted.bin')]);
  } else {
    run('mkfs.vfat', ['-F', spec.fs === 'fat16' ? '16' : '32', ...(spec.mkfs ?? []), file]);
    run('mcopy', ['-i', file, path.join(junk, 'deleted.bin'), '::/deleted.bin']);
    run('mcopy', ['-s', '-i', file, ...readdirSync(content).map((n) => path.join(content, n)), '::/']);
    run('mdel', ['-i', file, '::/deleted.bin']);
  }
  const files = new Map<string, Buffer>();
  for (const rel of listFiles(content)) files.set('/' + rel, readFileSync(path.join(content, rel)));
  return files;
}

/** Builds a partitioned image: `label` "gpt" or "dos", partitions in order, 1 MiB aligned. */
export function buildImage(workDir: string, name: string, label: 'gpt' | 'dos', specs: PartitionSpec[], seed = 1): BuiltImage {
  mkdirSync(workDir, { recursive: true });
  const file = path.join(workDir, name);
  const lines = [`label: ${label}`, 'unit: sectors'];
  let cursor = MiB;
  const logical = specs.filter((s) => s.logical);
  const placed: Array<{ spec: PartitionSpec; start: number }> = [];
  for (const spec of specs.filter((s) => !s.logical)) {
    lines.push(`start=${cursor / 512}, size=${spec.size / 512}, type=${spec.type}`);
    placed.push({ spec, start: cursor });
    cursor += spec.size;
  }
  if (logical.length > 0) {
    const extSize = logical.reduce((n, s) => n + s.size + MiB, 0);
    lines.push(`start=${cursor / 512}, size=${extSize / 512}, type=5`);
    for (const spec of logical) {
      cursor += MiB; // room for the EBR
      lines.push(`start=${cursor / 512}, size=${spec.size / 512}, type=${spec.type}`);
      placed.push({ spec, start: cursor });
      cursor += spec.size;
    }
  }
  const size = cursor + MiB; // room for the backup GPT
  writeFileSync(file, '');
  truncateSync(file, size);
  execFileSync('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', file], { input: lines.join('\n') + '\n', stdio: ['pipe', 'ignore', 'pipe'] });
  const partitions: BuiltPartition[] = [];
  placed.forEach(({ spec, start }, i) => {
    const fsFile = path.join(workDir, `${name}.part${i}`);
    const files = makeFilesystem(fsFile, spec, workDir, seed * 100 + i);
    execFileSync('dd', [`if=${fsFile}`, `of=${file}`, 'bs=1M', `seek=${start}`, 'oflag=seek_bytes', 'conv=notrunc,sparse', 'status=none']);
    execFileSync('rm', ['-f', fsFile]);
    partitions.push({ spec, offset: start, size: spec.size, files });
  });
  return { file, size: statSync(file).size, partitions };
}
