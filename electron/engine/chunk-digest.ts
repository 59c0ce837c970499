// The digests readback compares a drive's bytes with, per written chunk. They catch a drive that
// did not keep what it was sent (flaky, failing or counterfeit cards), not an attacker, so a fast
// 64-bit hash is enough: XXH64 (xxhash-wasm, ~10 GB/s) instead of SHA-256 (~1.8 GB/s), which was
// a second full SHA-256 pass over every byte of a compressed image next to the image's own.
// Bytes in the pool are hashed where they lie (xxh64-in-place.ts); xxhash-wasm, which copies its
// input first, takes chunks of several ranges (the same XXH64 of their concatenation).

import type { Range } from './write-planner';
import { hashInPlaceFrom, xxh64InPlace } from './xxh64-in-place';

interface Hasher64 {
  update(data: Uint8Array): Hasher64;
  digest(): bigint;
}

// Required when the engine loads: resolving the package (its "exports" map, Node's first use of
// that resolver in a process) took ~10 ms of the main thread, and inside a flash those came
// before the drive was opened. The WASM itself is compiled on first use, below.
const xxhash = require('xxhash-wasm') as () => Promise<{ create64(): Hasher64 }>;

let create64: (() => Hasher64) | undefined;

/** Loads the WASM hashers once, and lets them read `pool` in place; call before chunkDigest. */
export async function loadChunkDigest(pool?: WebAssembly.Memory): Promise<void> {
  if (pool) hashInPlaceFrom(pool);
  if (create64) return;
  loading ??= (async () => {
    const api = await xxhash();
    create64 = () => api.create64();
  })();
  loading.catch(() => (loading = undefined)); // a failed load is tried again next time
  await loading;
}
/** The load under way, so that a flash warming it up early and its pipeline share one. */
let loading: Promise<void> | undefined;

/** XXH64 of the bytes of `ranges` (image offsets) within `data`, which starts at image offset `start`. */
export function chunkDigest(data: Buffer, start: number, ranges: Range[]): Buffer {
  if (!create64) throw new Error('chunk digests used before loadChunkDigest()');
  const out = Buffer.alloc(8);
  const only = ranges.length === 1 ? ranges[0]! : undefined;
  const inPlace = only && xxh64InPlace(data.subarray(only.start - start, only.end - start));
  if (inPlace !== undefined) {
    out.writeBigUInt64BE(inPlace);
    return out;
  }
  const hasher = create64();
  for (const r of ranges) hasher.update(data.subarray(r.start - start, r.end - start));
  out.writeBigUInt64BE(hasher.digest());
  return out;
}
