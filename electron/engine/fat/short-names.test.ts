// Short-name generation and long-name entries, against what Microsoft's FAT specification says.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FatError } from './fat-error';
import { checkLongName, isPlainShortName, longNameEntries, longNamePart, makeShortName, rawShortName, shortNameChecksum, shortNameText } from './short-names';

const short = (name: string, taken: string[] = []) => shortNameText(makeShortName(name, new Set(taken.map((t) => rawShortName(...split(t)).toString('latin1')))));
function split(name: string): [string, string] {
  const dot = name.indexOf('.');
  return dot < 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot + 1)];
}

test('names that fit 8.3 keep their letters, upper-cased, without a tail', () => {
  assert.equal(short('ssh'), 'SSH');
  assert.equal(short('userconf.txt'), 'USERCONF.TXT');
  assert.equal(short('firstrun.sh'), 'FIRSTRUN.SH');
  assert.equal(short('README.TXT'), 'README.TXT');
  assert.equal(short("$%'-_@~`.!()"), "$%'-_@~`.!()");
  assert.equal(short('{}^#&.x'), '{}^#&.X');
});

test('names that do not fit, or lose characters, get the first free ~N tail', () => {
  assert.equal(short('user-data'), 'USER-D~1');
  assert.equal(short('network-config'), 'NETWOR~1');
  assert.equal(short('LongFileName.text'), 'LONGFI~1.TEX');
  assert.equal(short('my.config.txt'), 'MY~1.TXT');
  assert.equal(short('.bashrc'), 'BASHRC~1');
  assert.equal(short('a b.txt'), 'AB~1.TXT');
  assert.equal(short('x+y.txt'), 'X_Y~1.TXT');
  assert.equal(short('straßenbahn.txt'), 'STRA_E~1.TXT');
  assert.equal(short('ünï.txt'), '_N_~1.TXT');
  assert.equal(short('user-data', ['USER-D~1', 'USER-D~2']), 'USER-D~3');
  assert.equal(short('ssh', ['SSH']), 'SSH~1');
  const many = Array.from({ length: 9 }, (_, i) => `NETWOR~${i + 1}`);
  assert.equal(short('network-config', many), 'NETWO~10');
});

test('plain short names are exactly the upper-case 8.3 ones', () => {
  for (const name of ['SSH', 'CONFIG.TXT', 'A.B', '12345678.123']) assert.ok(isPlainShortName(name), name);
  for (const name of ['ssh', 'Config.txt', '123456789', 'A.BCDE', 'A.', '.A', 'A B', 'A.B.C', 'A+B']) assert.ok(!isPlainShortName(name), name);
});

test('the checksum is the rotate-and-add of the 11 bytes', () => {
  // By hand: each step rotates the byte sum right by one bit, then adds the next character.
  let sum = 0;
  for (const byte of Buffer.from('USER-D~1   ', 'latin1')) sum = ((sum & 1 ? 0x80 : 0) + (sum >> 1) + byte) & 0xff;
  assert.equal(shortNameChecksum(Buffer.from('USER-D~1   ', 'latin1')), sum);
  assert.notEqual(shortNameChecksum(Buffer.from('USER-D~2   ', 'latin1')), sum);
});

test('long-name entries: last part first, 13 UTF-16 units each, NUL then 0xFFFF padding', () => {
  const name = 'network-config.yaml'; // 19 units: two entries
  const entries = longNameEntries(name, 0x5a);
  assert.equal(entries.length, 2);
  assert.deepEqual(entries.map((e) => e[0]), [0x42, 0x01]);
  for (const entry of entries) {
    assert.equal(entry[11], 0x0f);
    assert.equal(entry[12], 0);
    assert.equal(entry[13], 0x5a);
    assert.equal(entry.readUInt16LE(26), 0);
  }
  assert.equal(longNamePart(entries[1] as Buffer) + longNamePart(entries[0] as Buffer), name);
  const last = entries[0] as Buffer;
  // The first entry holds 'network-confi'; the last 'g.yaml' (6 units), a NUL at unit 7, then 0xFFFF.
  assert.equal(last.readUInt16LE(14), 'l'.charCodeAt(0));
  assert.equal(last.readUInt16LE(16), 0);
  for (const at of [18, 20, 22, 24, 28, 30]) assert.equal(last.readUInt16LE(at), 0xffff);
  // Exactly 13 units: no terminator, no padding.
  assert.equal(longNamePart(longNameEntries('abcdefghijklm', 0)[0] as Buffer), 'abcdefghijklm');
  assert.equal(longNamePart(longNameEntries('ü—€', 0)[0] as Buffer), 'ü—€');
});

test('NT case bits make a short name read in lower case', () => {
  const raw = rawShortName('CONFIG', 'TXT');
  assert.equal(shortNameText(raw), 'CONFIG.TXT');
  assert.equal(shortNameText(raw, 0x08), 'config.TXT');
  assert.equal(shortNameText(raw, 0x18), 'config.txt');
});

test('names FAT cannot hold are refused', () => {
  for (const bad of ['', 'a:b', 'a*b', 'a?b', 'a"b', 'a<b', 'a>b', 'a|b', 'a\\b', 'a/b', 'tab\there', 'dot.', 'space ', '.', '..', 'x'.repeat(256)]) {
    assert.throws(() => checkLongName(bad), FatError, JSON.stringify(bad));
  }
  for (const good of ['ssh', 'a+b,c;d=e[f]', ' leading', 'x'.repeat(255), 'ünïcode']) checkLongName(good);
});
