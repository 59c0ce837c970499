// flash.start's image as the engine will receive it: a URL with the cache only when "Keep
// downloads" is on, a pasted SHA-256 for either the download or the image, a missing file refused.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_SETTINGS } from '../../shared/contract';
import { BlockwiseError } from '../../shared/errors';
import { cachePathFor, pastedChecksum, resolveSource } from './flash-source';

const deps = { imageSize: async () => 1234, downloadsDir: '/var/cache/bw' };

describe('resolveSource', () => {
  it('a URL goes to the engine as is, with cachePath only when keeping downloads', async () => {
    const url = 'https://example.org/images/os.img.xz';
    const plain = await resolveSource({ url, driveIds: ['d'] }, DEFAULT_SETTINGS, deps);
    assert.deepEqual(plain.source, { kind: 'url', url });
    assert.equal(plain.label, url);
    const kept = await resolveSource({ url, entry: 'a.img', driveIds: ['d'] }, { ...DEFAULT_SETTINGS, keepDownloads: true }, deps);
    assert.deepEqual(kept.source, { kind: 'url', url, entry: 'a.img', cachePath: cachePathFor(url, '/var/cache/bw') });
    assert.equal(kept.localPath, cachePathFor(url, '/var/cache/bw'));
  });

  it('a file is resolved to its real path, with the archive entry and its size', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-source-'));
    try {
      writeFileSync(path.join(dir, 'real.zip'), 'x');
      const link = path.join(dir, 'link.zip');
      symlinkSync(path.join(dir, 'real.zip'), link);
      const resolved = await resolveSource({ imagePath: link, entry: 'b.img', driveIds: ['d'] }, DEFAULT_SETTINGS, deps);
      assert.deepEqual(resolved.source, { kind: 'file', path: path.join(dir, 'real.zip'), entry: 'b.img' });
      assert.equal(resolved.imageSize, 1234);
      await assert.rejects(
        resolveSource({ imagePath: path.join(dir, 'gone.img'), driveIds: ['d'] }, DEFAULT_SETTINGS, deps),
        (e: unknown) => e instanceof BlockwiseError && e.code === 'SOURCE_UNREADABLE' && /gone\.img: it does not exist/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cachePathFor and pastedChecksum', () => {
  it('one readable, safe file per address', () => {
    const a = cachePathFor('https://a.example/x/os.img.xz', '/c');
    const b = cachePathFor('https://b.example/x/os.img.xz', '/c');
    assert.match(path.basename(a), /^[0-9a-f]{16}-os\.img\.xz$/);
    assert.notEqual(a, b);
    assert.equal(path.dirname(cachePathFor('https://a.example/../../etc/%2e%2e%2fpasswd', '/c')), '/c');
    assert.match(cachePathFor('https://a.example/', '/c'), /-download$/);
  });

  it('a pasted hash may match the download or the image', () => {
    assert.deepEqual(pastedChecksum('AB'.repeat(32)), { algorithm: 'sha256', hex: 'ab'.repeat(32), of: 'auto' });
    assert.equal(pastedChecksum(undefined), undefined);
  });
});
