// libuv runs every fs call on one pool of threads for the whole process, 4 by default, and a
// blocking write to a drive holds a thread for as long as it takes. With the default, at most
// four writes were ever in flight across all drives — ten cards at 20 MB/s, three writes each,
// queued behind four threads — and a dead stick whose writes never return took them all, so
// even closing the image file waited for it (a cancel took as long as the stick stayed silent).
// The pool is created on first use: every entry point imports this module before anything else,
// and the engine does too, for tests and other hosts that load it first. A size set by the user
// wins.

import { stat } from 'node:fs';

/** Enough for a dozen drives with their writes (WRITE_DEPTH) and readback in flight, plus the rest. */
export const IO_THREADS = 64;

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(IO_THREADS);

// The first file operation creates the pool's threads, there and then: 8.5 ms for 64 threads here.
// One is asked for now, so a flash never pays for it (the app's processes have long done so by the
// time anyone clicks Flash; a CLI run or a benchmark's engine process had not).
stat(__filename, () => undefined);
