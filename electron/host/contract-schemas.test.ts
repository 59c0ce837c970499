// The door check for what the new image sources may carry: only web addresses, only whole SHA-256s,
// exactly one of a path and a URL.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequest } from '../../shared/contract-schemas';
import { BlockwiseError } from '../../shared/errors';

const HEX = '0123456789abcdef'.repeat(4);

function refused(name: string, args: unknown, why: RegExp): void {
  assert.throws(
    () => parseRequest(name, args),
    (error: unknown) => error instanceof BlockwiseError && error.code === 'INVALID_REQUEST' && why.test(error.message),
    `${name} ${JSON.stringify(args)} should be refused with ${why}`,
  );
}

describe('image.inspect', () => {
  it('takes a path or an http(s) URL', () => {
    assert.deepEqual(parseRequest('image.inspect', { path: '/tmp/a.img' }).args, { path: '/tmp/a.img' });
    assert.deepEqual(parseRequest('image.inspect', { url: 'https://example.org/a.img.xz' }).args, { url: 'https://example.org/a.img.xz' });
    assert.deepEqual(parseRequest('image.inspect', { url: 'http://127.0.0.1:8080/a.img' }).args, { url: 'http://127.0.0.1:8080/a.img' });
  });

  it('refuses addresses that are not http(s)', () => {
    for (const url of ['file:///etc/shadow', 'ftp://example.org/a.img', 'javascript:alert(1)', 'data:,hello', '/tmp/a.img', 'example.org/a.img', 'https://']) {
      refused('image.inspect', { url }, /at url: must be an http:\/\/ or https:\/\/ address/);
    }
  });

  it('wants exactly one of path and url', () => {
    refused('image.inspect', {}, /exactly one/);
    refused('image.inspect', { path: '/tmp/a.img', url: 'https://example.org/a.img' }, /exactly one/);
  });
});

describe('flash.start', () => {
  it('carries a URL and a pasted SHA-256', () => {
    const args = { url: 'https://example.org/os.img.gz', checksum: HEX.toUpperCase(), driveIds: ['d1'] };
    assert.deepEqual(parseRequest('flash.start', args).args, args);
  });

  it('refuses malformed hashes', () => {
    for (const checksum of [HEX.slice(1), HEX + 'a', HEX.slice(0, 63) + 'g', ` ${HEX}`, '', HEX + HEX]) {
      refused('flash.start', { imagePath: '/tmp/a.img', checksum, driveIds: ['d1'] }, /at checksum: must be a SHA-256: 64 hexadecimal digits/);
    }
  });

  it('refuses non-http URLs, and both or neither of imagePath and url', () => {
    refused('flash.start', { url: 'file:///dev/sda', driveIds: ['d1'] }, /at url/);
    refused('flash.start', { driveIds: ['d1'] }, /exactly one/);
    refused('flash.start', { imagePath: '/tmp/a.img', url: 'https://example.org/a.img', driveIds: ['d1'] }, /exactly one/);
  });
});

describe('settings.set', () => {
  it('knows keepDownloads', () => {
    assert.deepEqual(parseRequest('settings.set', { keepDownloads: true }).args, { keepDownloads: true });
    refused('settings.set', { keepDownloads: 'yes' }, /keepDownloads/);
  });
});
