import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChecksumInput } from '../shared/checksum-input';

const HEX = 'a'.repeat(32) + '0123456789ABCDEF'.repeat(2);

test('a bare SHA-256 is accepted and lower-cased; blank means none', () => {
  assert.deepEqual(parseChecksumInput(`  ${HEX}\n`), { kind: 'valid', hex: HEX.toLowerCase() });
  assert.deepEqual(parseChecksumInput('   '), { kind: 'none' });
});

test('lines copied from SHA256SUMS files give their hash', () => {
  assert.deepEqual(parseChecksumInput(`${HEX}  raspios.img.xz`), { kind: 'valid', hex: HEX.toLowerCase() });
  assert.deepEqual(parseChecksumInput(`SHA256 (raspios.img.xz) = ${HEX}`), { kind: 'valid', hex: HEX.toLowerCase() });
});

test('malformed hashes are refused with the reason', () => {
  const short = parseChecksumInput(HEX.slice(1));
  assert.equal(short.kind, 'invalid');
  assert.match(short.kind === 'invalid' ? short.reason : '', /64 hexadecimal digits; this has 63/);
  const sha512 = parseChecksumInput(HEX + HEX);
  assert.match(sha512.kind === 'invalid' ? sha512.reason : '', /SHA-512/);
  // MD5 and SHA-1, which download pages still show beside the SHA-256, are named too.
  for (const [digits, name] of [[32, 'an MD5'], [40, 'a SHA-1']] as const) {
    const other = parseChecksumInput('a'.repeat(digits));
    assert.equal(other.kind === 'invalid' ? other.reason : '', `That looks like ${name}; paste the SHA-256 (64 digits).`);
  }
  assert.equal(parseChecksumInput('not a hash at all').kind, 'invalid');
  assert.equal(parseChecksumInput(`${HEX}g`).kind, 'invalid');
  assert.match(JSON.stringify(parseChecksumInput(`${HEX}  a.img\n${'b'.repeat(64)}  b.img`)), /several/);
});

test('a whole SHA256SUMS pasted gives the line naming the chosen image (as stored, or the image inside)', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const c = 'c'.repeat(64);
  const sums = `${a}  2024-11-19-raspios-bookworm-arm64.img.xz\n${b} *2024-11-19-raspios-bookworm-arm64-lite.img.xz\nSHA256 (./2024-11-19-raspios-bookworm-armhf-lite.img.xz) = ${c}\n`;
  assert.deepEqual(parseChecksumInput(sums, '2024-11-19-raspios-bookworm-arm64-lite.img.xz'), { kind: 'valid', hex: b });
  assert.deepEqual(parseChecksumInput(sums, '2024-11-19-raspios-bookworm-armhf-lite.img.xz'), { kind: 'valid', hex: c });
  // A checksum of the image inside names it without the compression suffix.
  assert.deepEqual(parseChecksumInput(`${a}  os.img\n${b}  other.img`, 'os.img.xz'), { kind: 'valid', hex: a });
  // The stored file's own line wins over the image inside's.
  assert.deepEqual(parseChecksumInput(`${a}  os.img\n${b}  os.img.xz`, 'os.img.xz'), { kind: 'valid', hex: b });
  const none = parseChecksumInput(sums, 'ubuntu.iso');
  assert.equal(none.kind, 'invalid');
  assert.match(none.kind === 'invalid' ? none.reason : '', /no line of it names ubuntu\.iso/);
});
