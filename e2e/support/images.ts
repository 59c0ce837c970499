// Disk images for the specs: pseudo-random bytes (every block differs, so a skipped or misplaced
// write shows), in a temporary folder the fixture removes.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ImageFolder {
  dir: string;
  /** Writes `size` bytes of seeded pseudo-random data to `name`, returns the path. */
  random(name: string, size: number, seed?: number): string;
  /** A .zst of `size` random bytes cut off halfway: it inspects fine and fails mid-flash. */
  truncatedZstd(name: string, size: number): string;
  dispose(): void;
}

export function randomBytes(size: number, seed = 0x2545f491): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  return out;
}

export function createImageFolder(): ImageFolder {
  const dir = mkdtempSync(path.join(process.platform === 'linux' ? '/dev/shm' : os.tmpdir(), 'blockwise-e2e-images-'));
  return {
    dir,
    random(name, size, seed) {
      const file = path.join(dir, name);
      writeFileSync(file, randomBytes(size, seed));
      return file;
    },
    truncatedZstd(name, size) {
      const raw = path.join(dir, `${name}.raw`);
      writeFileSync(raw, randomBytes(size));
      const packed = `${raw}.zst`;
      execFileSync('zstd', ['-q', '-f', raw, '-o', packed]);
      const whole = readFileSync(packed);
      rmSync(raw);
      rmSync(packed);
      const file = path.join(dir, name);
      writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
      return file;
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
