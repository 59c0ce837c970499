// What the person pasted into "Expected SHA-256" (or gave the CLI's --sha256): a bare hash, a
// digest as release pages show it ("sha256:HEX"), or a line copied from a SHA256SUMS file
// ("HEX  name", "SHA256 (name) = HEX"). Only a whole 64-digit hex run counts, so a SHA-512
// or a truncated copy is refused with a reason instead of silently never matching.

export type ChecksumInput = { kind: 'none' } | { kind: 'valid'; hex: string } | { kind: 'invalid'; reason: string };

export function parseChecksumInput(text: string): ChecksumInput {
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'none' };
  // A 64-digit run standing alone: not the start of a longer word or hash.
  const whole = trimmed.match(/(?<![0-9A-Za-z])[0-9a-fA-F]{64}(?![0-9A-Za-z])/g) ?? [];
  const bare = /^[0-9a-fA-F]+$/.test(trimmed);
  if (whole.length === 1 && (!bare || trimmed.length === 64)) return { kind: 'valid', hex: whole[0]!.toLowerCase() };
  if (bare) {
    return {
      kind: 'invalid',
      reason: trimmed.length === 128 ? 'That looks like a SHA-512; paste the SHA-256 (64 digits).' : `A SHA-256 has 64 hexadecimal digits; this has ${trimmed.length}.`,
    };
  }
  if (whole.length > 1) return { kind: 'invalid', reason: 'That holds several checksums; paste just the one for this image.' };
  return { kind: 'invalid', reason: 'A SHA-256 is 64 hexadecimal digits (0–9, a–f).' };
}
