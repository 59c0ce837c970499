// tar header parsing on hand-made blocks: the fields GNU tar does not produce on its own.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import { parsePax, parseTarHeader } from './tar-header';

/** A header block with a correct checksum; `size` is written as given (octal text or raw bytes). */
function header(name: string, type: string, size: string | Buffer): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 'utf8');
  if (typeof size === 'string') block.write(size, 124, 'latin1');
  else size.copy(block, 124);
  block.write(type, 156, 'latin1');
  block.write('ustar\0' + '00', 257, 'latin1');
  block.fill(0x20, 148, 156);
  const sum = block.reduce((a, b) => a + b, 0);
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return block;
}

const corrupt = (error: unknown) => error instanceof BlockwiseError && error.code === 'SOURCE_CORRUPT';

test('sizes: octal, GNU base-256 beyond 8 GiB', () => {
  assert.equal(parseTarHeader(header('a.img', '0', '00000001750\0'), 0).size, 1000);
  const big = Buffer.alloc(12);
  big[0] = 0x80;
  big.writeUIntBE(16 * 2 ** 30, 6, 6); // 16 GiB
  assert.equal(parseTarHeader(header('big.img', '0', big), 0).size, 16 * 2 ** 30);
});

test('a long-name header claiming gigabytes, a non-octal size, or a bad checksum is SOURCE_CORRUPT with the offset', () => {
  assert.throws(() => parseTarHeader(header('././@LongLink', 'L', '20000000000\0'), 1024), (e: unknown) => corrupt(e) && (e as BlockwiseError).details.offset === 1024);
  assert.throws(() => parseTarHeader(header('a.img', '0', 'zzzzzzzzzzz\0'), 0), corrupt);
  const damaged = header('a.img', '0', '00000001750\0');
  damaged[0] = 0x42;
  assert.throws(() => parseTarHeader(damaged, 512), /tar header at byte 512 is damaged/);
});

test('pax records: path and size win, GNU sparse keys are noticed', () => {
  const record = (kv: string) => {
    const body = ` ${kv}\n`;
    const bytes = Buffer.byteLength(body);
    let length = bytes + 1;
    while (String(length).length + bytes !== length) length = String(length).length + bytes;
    return `${length}${body}`;
  };
  const pax = parsePax(Buffer.from(record('path=dir/ünïcode image.img') + record('size=123456789012')));
  assert.deepEqual(pax, { path: 'dir/ünïcode image.img', size: 123456789012, sparse: false });
  assert.equal(parsePax(Buffer.from(record('GNU.sparse.major=1'))).sparse, true);
});
