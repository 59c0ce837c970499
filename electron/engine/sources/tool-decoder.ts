// Decoding through the system's own tool (xz, zstd, lbzip2…) in a child process. Our reads feed
// its stdin, so the stored bytes are still counted and hashed in-process (StoredTap upstream) —
// except for a local file on Linux (a download is hashed as it arrives; a file from itself): the
// tool then reads the file as its stdin, and how far it got is its stdin's position in /proc.
// That put xz's first output ~10 ms sooner (no trip through this process's event loop and a pipe
// on two busy cores) and took the pumping of every stored byte off this thread.
// Its stdout lands in a small queue that pauses the pipe when full, so a slow drive stops the tool
// instead of growing memory. The child never outlives the decoder: it is killed when the reader
// is closed, abandoned, cancelled or fails. No temporary files.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { BlockwiseError } from '../../../shared/errors';
import { fileInputOf, type FileInput, type ReadElsewhere, type StreamDecoder } from './decoded-source';

export interface DecoderTool {
  /** Short name for messages ("xz"). */
  name: string;
  /** Absolute path of the executable. */
  path: string;
  args: string[];
  /** What the tool says when input ends mid-stream but its words don't say so (lbzip2). */
  ranOutAtEnd?: RegExp;
}

/**
 * Decoded bytes held ahead of the reader; above this the tool's stdout is paused. 4 MiB: a 1 GiB
 * .img.zst flash peaked at 120 MB RSS instead of 137-141 MB with 16 MiB, at the same speed (the
 * pool already keeps the drive fed).
 */
const MAX_QUEUED = 4 * 1024 * 1024;
/** Largest piece handed on at once. */
const BATCH = 1024 * 1024;

/** Children started and not yet exited, by pid: tests check that none is left behind. */
const live = new Map<number, ChildProcessByStdio<Writable | null, Readable, Readable>>();

let started = 0;

export function liveToolPids(): number[] {
  return [...live.keys()];
}

/** How many tool processes this process has started (tests check which family decoded). */
export function toolRunsStarted(): number {
  return started;
}

/** Messages the tools print when input stops early (xz, gzip, pigz, zstd, bzip2, lbzip2). */
const RAN_OUT = /unexpected end|premature end|ends unexpectedly|truncated|incomplete|unexpected eof/i;

/** Turns the tool's exit into the error a person reads; the caller adds file name and offsets. */
function toolError(tool: DecoderTool, exit: { code: number | null; signal: NodeJS.Signals | null }, stderr: string, inputEnded: boolean): BlockwiseError {
  const { code, signal } = exit;
  const said = stderr.trim().split('\n').filter(Boolean).pop()?.replace(/^[\w.-]+: /, '') ?? '';
  if (RAN_OUT.test(stderr) || (inputEnded && tool.ranOutAtEnd?.test(stderr))) return new BlockwiseError('SOURCE_TRUNCATED', `the compressed data ends early (${tool.name}: ${said || 'unexpected end of input'})`);
  // Reading its stdin (the image file) failed: a disk error, a card reader pulled; not its data.
  if (/read error|read\(\): input\/output error/i.test(stderr)) return new BlockwiseError('SOURCE_UNREADABLE', `the image file could not be read (${tool.name}: ${said})`);
  // Killed by a signal Blockwise did not send (it only ever sends SIGKILL, after which nothing is
  // reported): something else stopped it, which says nothing about the data.
  if (signal) return new BlockwiseError('SOURCE_UNREADABLE', `${tool.name}, which was decompressing the image, was stopped by ${signal} from outside Blockwise. Try again.`);
  const how = `failed with exit code ${code}`;
  return new BlockwiseError('SOURCE_CORRUPT', `the compressed data is not valid (${tool.name} ${how}${said ? `: ${said}` : ''})`);
}

function waitForWritable(stdin: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stdin.removeListener('drain', done);
      stdin.removeListener('close', done);
      stdin.removeListener('error', done);
      resolve();
    };
    stdin.once('drain', done);
    stdin.once('close', done);
    stdin.once('error', done);
  });
}

export function toolDecoder(tool: DecoderTool): StreamDecoder {
  return async function* decodeWithTool(input) {
    const file = process.platform === 'linux' ? openInputFile(fileInputOf(input)) : undefined;
    // A process group of its own: Ctrl-C in a terminal signals the whole foreground group, and the
    // tool dying of it first made a cancel look like a damaged image. Blockwise stops it itself.
    let child: ChildProcessByStdio<Writable | null, Readable, Readable>;
    try {
      child = spawn(tool.path, tool.args, {
        stdio: [file?.fd ?? 'pipe', 'pipe', 'pipe'],
        windowsHide: true,
        detached: process.platform !== 'win32',
      }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
    } catch (error) {
      if (file) closeSync(file.fd);
      throw error;
    }
    started++;
    if (child.pid !== undefined) live.set(child.pid, child);
    // The child's stdin and our fd share one file offset: ours tells how far it has read, even
    // after it has exited. Closed when this decoder is done.
    const readBy = file ? filePosition(file.fd, file.size) : undefined;
    if (readBy) file!.input.readInstead(readBy);
    const queue: Buffer[] = [];
    let queued = 0;
    let stdoutEnded = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let failure: unknown; // the input failed (download cut) or the tool could not start
    let stderr = '';
    let stopped = false;
    let inputEnded = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };

    child.on('error', (error) => {
      failure ??= new BlockwiseError('SOURCE_UNREADABLE', `${tool.name} could not be started: ${error.message}`);
      notify();
    });
    child.on('exit', (code, signal) => {
      if (child.pid !== undefined) live.delete(child.pid);
      exit = { code, signal };
      notify();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4096);
    });
    child.stdout.on('data', (d: Buffer) => {
      readBy?.poll();
      queue.push(d);
      queued += d.length;
      if (queued >= MAX_QUEUED) child.stdout.pause();
      notify();
    });
    child.stdout.on('end', () => {
      stdoutEnded = true;
      notify();
    });
    child.stdout.on('error', () => undefined);
    const stdin = child.stdin;
    // The tool exiting early (bad data) makes our writes fail with EPIPE: its exit status says why.
    stdin?.on('error', () => undefined);

    const pump = !stdin
      ? Promise.resolve()
      : (async () => {
          try {
            for await (const chunk of input) {
              if (stopped || stdin.destroyed) break;
              if (!stdin.write(chunk)) await waitForWritable(stdin);
            }
            if (!stopped && !stdin.destroyed) inputEnded = true;
            stdin.end();
          } catch (error) {
            failure ??= error;
            child.kill('SIGKILL');
            notify();
          }
        })();

    try {
      for (;;) {
        if (failure !== undefined) throw failure;
        if (queue.length > 0) {
          // Pipes deliver 64 KiB at a time; handing them on one by one costs more than the tool's
          // decoding (measured: zstd 1.8 s vs 0.7 s per GiB), so batch what has piled up.
          const batch: Buffer[] = [];
          let bytes = 0;
          while (queue.length > 0 && bytes < BATCH) {
            const next = queue.shift()!;
            batch.push(next);
            bytes += next.length;
          }
          queued -= bytes;
          if (queued < MAX_QUEUED / 2 && child.stdout.isPaused()) child.stdout.resume();
          yield batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes);
          continue;
        }
        if (stdoutEnded && exit) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      await pump;
      if (failure !== undefined) throw failure;
      if (exit!.code !== 0) throw toolError(tool, exit!, stderr, readBy ? readBy.ended() : inputEnded);
    } finally {
      stopped = true;
      if (exit === undefined) child.kill('SIGKILL');
      child.stdout.destroy();
      stdin?.destroy();
      if (file) {
        readBy?.close();
        closeSync(file.fd);
      }
    }
  };
}

/** The file a tool may read as its stdin (FileInput), opened; undefined to feed it through a pipe. */
function openInputFile(input: FileInput | undefined): { input: FileInput; fd: number; size: number } | undefined {
  if (!input) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(input.path, 'r');
    return { input, fd, size: fstatSync(fd).size };
  } catch {
    if (fd !== undefined) closeSync(fd);
    return undefined; // read through this process, which reports why it cannot
  }
}

/**
 * How far a child has read the file it was given as stdin: the `pos` of the open file it shares
 * with our `fd`, in /proc/self/fdinfo, looked up at most every 50 ms (a lookup costs ~0.4 ms here;
 * once per chunk it was 50 ms of a 256 MiB flash) and when asked.
 */
function filePosition(fd: number, size: number): ReadElsewhere & { poll(): void; close(): void } {
  const fdinfo = `/proc/self/fdinfo/${fd}`;
  let last = 0;
  let polled = 0;
  let closed = false;
  const read = () => {
    if (closed) return; // the fd number may belong to another file by now
    try {
      const pos = /^pos:\s*(\d+)/m.exec(readFileSync(fdinfo, 'latin1'))?.[1];
      if (pos !== undefined) last = Math.min(size, Number(pos));
    } catch {
      /* keep the last */
    }
    polled = performance.now();
  };
  const poll = () => {
    if (performance.now() - polled >= 50) read();
  };
  return {
    position: () => {
      poll();
      return last;
    },
    /** Looked up afresh: it decides whether a failure is a file cut short. */
    ended: () => {
      read();
      return last >= size;
    },
    poll,
    /** A last look, before the fd is closed; the position stays as it was. */
    close: () => {
      read();
      closed = true;
    },
  };
}
