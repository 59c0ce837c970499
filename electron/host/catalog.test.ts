// Catalogs in Raspberry Pi Imager's format, served by a real HTTP server on 127.0.0.1: what is
// listed (groups inline and at other addresses, sizes, checksums, relative addresses), what is
// left out and counted, and the words for what is no catalog.

import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { flattenCatalog, parseCatalog } from '../../shared/catalog';
import { blockwiseFailure } from '../test-support/blockwise-failure';
import { SAMPLE_CATALOG, SHA } from '../test-support/sample-catalog';
import { fetchCatalog, MAX_CATALOG_BYTES } from './catalog';

describe('parseCatalog', () => {
  test('images, inline groups and groups at another address; relative addresses resolved; unusable entries counted', () => {
    const parsed = parseCatalog(JSON.stringify(SAMPLE_CATALOG), 'https://downloads.example.org/os_list.json');
    assert.ok(!('problem' in parsed));
    assert.equal(parsed.skipped, 2, 'the entry whose url is a number, and Imager’s internal "Erase"');
    const [pios, other, more] = parsed.entries;
    assert.deepEqual(pios, {
      name: 'Raspberry Pi OS (64-bit)',
      description: 'A port of Debian Bookworm with the Raspberry Pi Desktop',
      url: 'https://downloads.example.org/images/raspios-arm64.img.xz',
      sha256: SHA,
      imageSize: 6_000_000_000,
      downloadSize: 1_200_000_000,
      releaseDate: '2025-05-13',
    });
    assert.equal(other?.children?.length, 1);
    assert.equal(other?.children?.[0]?.sha256, 'ef'.repeat(32), 'the download’s SHA-256 where the image’s is not given');
    assert.equal(more?.childrenUrl, 'https://downloads.example.org/more/os_list.json');
    assert.equal(parsed.entries.length, 3);
    assert.deepEqual(
      flattenCatalog(parsed.entries).map((f) => f.path.join(' › ')),
      ['Raspberry Pi OS (64-bit)', 'Raspberry Pi OS (other) › Raspberry Pi OS Lite (64-bit)', 'Other general-purpose OS'],
    );
  });

  test('a group published on its own (a vendor’s file for a subitems_url) lists its images', () => {
    const parsed = parseCatalog(JSON.stringify({ name: 'RaspAP', subitems: [{ name: 'RaspAP 64-bit', url: 'https://example.org/raspap.img.zip', extract_sha256: SHA, devices: ['pi5-64bit'] }] }), 'https://example.org/sub.json');
    assert.ok(!('problem' in parsed));
    assert.deepEqual(parsed.entries, [{ name: 'RaspAP 64-bit', url: 'https://example.org/raspap.img.zip', sha256: SHA }]);
  });

  test('what is not a catalog says what it is instead', () => {
    const url = 'https://example.org/list.json';
    assert.deepEqual(parseCatalog('<!DOCTYPE html><html><body>Not found</body></html>', url), { problem: 'it is a web page (HTML), not a catalog' });
    assert.deepEqual(parseCatalog('name,url\nx,y', url), { problem: 'it is not JSON' });
    assert.deepEqual(parseCatalog('{"images": []}', url), { problem: 'it is JSON, but has no "os_list" list of images' });
    assert.deepEqual(parseCatalog('{"os_list": []}', url), { problem: 'its "os_list" is empty' });
    assert.deepEqual(parseCatalog('{"os_list": [{"name": "Erase", "url": "internal://format"}, {"name": "x", "url": "file:///etc/passwd"}]}', url), {
      problem: 'none of its 2 entries has an http(s) image address Blockwise can write',
    });
  });

  test('a checksum that is no SHA-256, a size that is no size, and a group nested without end are left out', () => {
    let deep: Record<string, unknown> = { name: 'bottom', url: 'https://example.org/x.img' };
    for (let i = 0; i < 20; i++) deep = { name: `level ${i}`, subitems: [deep] };
    const parsed = parseCatalog(JSON.stringify({ os_list: [{ name: 'odd', url: 'https://example.org/odd.img', extract_sha256: 'xyz', extract_size: -5 }, deep, { name: 'ok', url: 'https://example.org/ok.img' }] }), 'https://example.org/');
    assert.ok(!('problem' in parsed));
    assert.deepEqual(parsed.entries[0], { name: 'odd', url: 'https://example.org/odd.img' });
    assert.deepEqual(
      parsed.entries.map((e) => e.name),
      ['odd', 'ok'],
      'the group twenty deep is cut off',
    );
  });
});

describe('fetchCatalog from a server', () => {
  let server: http.Server;
  let base = '';
  const pages: Record<string, { status?: number; type?: string; body: string | Buffer }> = {};
  before(async () => {
    server = http.createServer((req, res) => {
      const page = pages[req.url ?? ''];
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/os_list.json' });
        res.end();
        return;
      }
      if (!page) {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<html>Not Found</html>');
        return;
      }
      res.writeHead(page.status ?? 200, { 'content-type': page.type ?? 'application/json', 'content-length': Buffer.byteLength(page.body) });
      res.end(page.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    pages['/os_list.json'] = { body: JSON.stringify(SAMPLE_CATALOG) };
    pages['/page.html'] = { type: 'text/html', body: '<!doctype html><html><body>Welcome</body></html>' };
    pages['/huge.json'] = { body: Buffer.alloc(MAX_CATALOG_BYTES + 1, 0x20) };
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('follows a redirect, and resolves relative addresses against where it ended', async () => {
    const catalog = await fetchCatalog(`${base}/moved`);
    assert.equal(catalog.url, `${base}/os_list.json`);
    assert.equal(catalog.entries[0]?.url, `${base}/images/raspios-arm64.img.xz`);
    assert.equal(catalog.entries[2]?.childrenUrl, `${base}/more/os_list.json`);
  });

  test('a 404, a web page and a file far too large are named, with the address', async () => {
    const missing = await blockwiseFailure(fetchCatalog(`${base}/nope.json`), 'the catalog was refused');
    assert.equal(missing.code, 'DOWNLOAD_FAILED');
    assert.match(missing.message, /nope\.json/);
    assert.match(missing.message, /404/);
    const html = await blockwiseFailure(fetchCatalog(`${base}/page.html`), 'the catalog was refused');
    assert.equal(html.code, 'CATALOG_INVALID');
    assert.equal(html.message, `${base}/page.html is not a catalog of images: it is a web page (HTML), not a catalog.`);
    const huge = await blockwiseFailure(fetchCatalog(`${base}/huge.json`), 'the catalog was refused');
    assert.equal(huge.code, 'CATALOG_INVALID');
    assert.match(huge.message, /is larger than 16\.8 MB: that is an image or an archive, not a catalog\.$/);
  });

  test('a server that does not answer is given up on, naming it', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/os_list.json`;
    try {
      const error = await blockwiseFailure(fetchCatalog(address, 300), 'the catalog was refused');
      assert.equal(error.code, 'DOWNLOAD_FAILED');
      assert.match(error.message, /os_list\.json/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
