// What the person pasted into "Expected SHA-256" (or gave the CLI's --sha256): a bare hash, a
// digest as release pages show it ("sha256:HEX"), or a line copied from a SHA256SUMS file
// ("HEX  name", "SHA256 (name) = HEX"). Only a whole 64-digit hex run counts, so a SHA-512
// or a truncated copy is refused with a reason instead of silently never matching. A whole
// SHA256SUMS file pasted (several lines) gives the line naming the image, when its name is known.

export type ChecksumInput = { kind: 'none' } | { kind: 'valid'; hex: string } | { kind: 'invalid'; reason: string };

/** The name a SHA256SUMS line gives ("HEX  name", "HEX *name", "SHA256 (name) = HEX"), if any. */
function lineName(line: string): string | undefined {
  const bsd = /^\s*SHA-?256\s*\((.+)\)\s*=\s*[0-9a-fA-F]{64}\s*$/i.exec(line);
  if (bsd) return bsd[1];
  const gnu = /^\s*[0-9a-fA-F]{64}\s+\*?(.+?)\s*$/.exec(line);
  return gnu?.[1];
}

const COMPRESSED = /\.(xz|gz|zst|bz2|zip)$/i;

/** The one line of several that names `imageName` (as stored, or the image inside it), if exactly one does. */
function lineFor(text: string, imageName: string): string | undefined {
  const base = (name: string) => name.replace(/^.*[\\/]/, '').replace(/^\.\//, '');
  const wanted = [imageName, imageName.replace(COMPRESSED, '')];
  const hits = text.split(/\r?\n/).filter((line) => {
    const name = lineName(line);
    return name !== undefined && wanted.includes(base(name));
  });
  // The stored file's own line wins over the image inside's: both describe it, one directly.
  const exact = hits.filter((line) => base(lineName(line)!) === imageName);
  if (exact.length === 1) return exact[0];
  return hits.length === 1 ? hits[0] : undefined;
}

/** Other hashes by their length in hex digits: what a download page may show beside the SHA-256. */
const OTHER_HASHES: Record<number, string> = { 32: 'an MD5', 40: 'a SHA-1', 96: 'a SHA-384', 128: 'a SHA-512' };

/** `imageName`: the chosen file's name, to pick its line out of a whole SHA256SUMS pasted. */
export function parseChecksumInput(text: string, imageName?: string): ChecksumInput {
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'none' };
  // A 64-digit run standing alone: not the start of a longer word or hash.
  const whole = trimmed.match(/(?<![0-9A-Za-z])[0-9a-fA-F]{64}(?![0-9A-Za-z])/g) ?? [];
  const bare = /^[0-9a-fA-F]+$/.test(trimmed);
  if (whole.length === 1 && (!bare || trimmed.length === 64)) return { kind: 'valid', hex: whole[0]!.toLowerCase() };
  if (bare) {
    return {
      kind: 'invalid',
      reason: OTHER_HASHES[trimmed.length] ? `That looks like ${OTHER_HASHES[trimmed.length]}; paste the SHA-256 (64 digits).` : `A SHA-256 has 64 hexadecimal digits; this has ${trimmed.length}.`,
    };
  }
  if (whole.length > 1) {
    const line = imageName ? lineFor(trimmed, imageName) : undefined;
    if (line) return parseChecksumInput(line);
    return {
      kind: 'invalid',
      reason: imageName
        ? `That holds several checksums, and no line of it names ${imageName}; paste just the one for this image.`
        : 'That holds several checksums; paste just the one for this image.',
    };
  }
  return { kind: 'invalid', reason: 'A SHA-256 is 64 hexadecimal digits (0–9, a–f).' };
}
