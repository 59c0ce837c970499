// Test fixtures for .bmap: sparse images with data islands, maps made by the real `bmaptool
// create`, and rewrites of those maps into other format versions or deliberately broken ones.

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

export function bmaptoolSkipReason(): string | undefined {
  try {
    execFileSync('bmaptool', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'bmaptool is not installed (apt-get install bmap-tools)';
  }
}

/** Writes a sparse image of `size` bytes holding random data at `islands`; returns its bytes. */
export function makeSparseImage(file: string, size: number, islands: Array<{ at: number; length: number }>): Buffer {
  const bytes = Buffer.alloc(size);
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, size);
    for (const { at, length } of islands) {
      const data = randomBytes(length);
      data.copy(bytes, at);
      let done = 0;
      while (done < length) done += writeSync(fd, data, done, length - done, at + done);
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

export function bmaptoolCreate(image: string, bmap: string, withChecksums = true): string {
  const args = ['create', ...(withChecksums ? [] : ['--no-checksum']), '-o', bmap, image];
  execFileSync('bmaptool', args, { stdio: 'ignore' });
  return bmap;
}

/** Recomputes a map's own checksum after a test edited it (bmaptool's rule: value zeroed). */
export function reseal(text: string): string {
  const m = /<(BmapFileChecksum|BmapFileSHA1)>\s*([0-9a-f]+)\s*</.exec(text);
  if (!m) return text;
  const algorithm = m[1] === 'BmapFileSHA1' ? 'sha1' : /<ChecksumType>\s*sha1\s*</.test(text) ? 'sha1' : 'sha256';
  const zeroed = text.replace(m[2]!, '0'.repeat(m[2]!.length));
  return zeroed.replace('0'.repeat(m[2]!.length), createHash(algorithm).update(zeroed).digest('hex'));
}

/**
 * Turns a bmaptool 2.0 map into format 1.3 (SHA-1 per range, `sha1` attributes, BmapFileSHA1),
 * computing the SHA-1s from the image bytes; or into 1.2 (no checksums at all).
 */
export function toVersion1(text: string, image: Buffer, minor: 2 | 3): string {
  const blockSize = Number(/<BlockSize>\s*(\d+)/.exec(text)![1]);
  let out = text.replace(/<bmap version="[^"]+">/, `<bmap version="1.${minor}">`).replace(/\s*<ChecksumType>[^<]*<\/ChecksumType>/, '');
  out = out.replace(/<Range chksum="[0-9a-f]+">\s*(\d+)(?:-(\d+))?\s*<\/Range>/g, (_whole, a: string, b: string | undefined) => {
    const first = Number(a);
    const last = b === undefined ? first : Number(b);
    const bytes = image.subarray(first * blockSize, Math.min((last + 1) * blockSize, image.length));
    const sha1 = createHash('sha1').update(bytes).digest('hex');
    return minor === 3 ? `<Range sha1="${sha1}"> ${a}${b ? `-${b}` : ''} </Range>` : `<Range> ${a}${b ? `-${b}` : ''} </Range>`;
  });
  if (minor === 3) out = out.replace(/<BmapFileChecksum>\s*[0-9a-f]+\s*<\/BmapFileChecksum>/, `<BmapFileSHA1> ${'0'.repeat(40)} </BmapFileSHA1>`);
  else out = out.replace(/\s*<BmapFileChecksum>[^<]*<\/BmapFileChecksum>/, '');
  return reseal(out);
}
