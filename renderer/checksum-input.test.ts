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
  assert.equal(parseChecksumInput('not a hash at all').kind, 'invalid');
  assert.equal(parseChecksumInput(`${HEX}g`).kind, 'invalid');
  assert.match(JSON.stringify(parseChecksumInput(`${HEX}  a.img\n${'b'.repeat(64)}  b.img`)), /several/);
});
