// Inspecting an image at a web address, against a real local HTTP server: name, size and format
// come from the headers and the first bytes; 404s, web pages and text are refused in words; the
// image itself is not downloaded.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BlockwiseError } from '../../shared/errors';
import { sendWithRanges } from '../test-support/http-ranges';
import { dispositionName, inspectUrl, urlName } from './url-inspector';

const RAW = randomBytes(4 * 1024 * 1024);
const GZ = gzipSync(RAW);
let sentBytes = 0;

/** A zip holding notes and two images (the second 1.5 MiB), made with Info-ZIP's zip. */
function twoImageZip(): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'blockwise-url-zip-'));
  try {
    writeFileSync(path.join(dir, 'notes.txt'), 'read me\n');
    writeFileSync(path.join(dir, 'a.img'), randomBytes(1024 * 1024));
    writeFileSync(path.join(dir, 'b.img'), randomBytes(1536 * 1024));
    execFileSync('zip', ['-q', '-0', 'two.zip', 'notes.txt', 'a.img', 'b.img'], { cwd: dir });
    return readFileSync(path.join(dir, 'two.zip'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const TWO = twoImageZip();

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  const send = (body: Buffer, headers: http.OutgoingHttpHeaders = {}) => {
    res.writeHead(200, { 'content-length': body.length, ...headers });
    res.on('close', () => undefined);
    // Written in pieces, so a client that stops reading early really receives less.
    let at = 0;
    const pump = () => {
      while (at < body.length) {
        const piece = body.subarray(at, at + 65536);
        at += piece.length;
        sentBytes += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  };
  if (url === '/os.img.gz') return send(GZ);
  if (url === '/os.img.gz.sha256') return send(Buffer.from(`${createHash('sha256').update(GZ).digest('hex')}  os.img.gz\n`));
  if (url === '/os.img') return send(RAW);
  if (url === '/latest') return void res.writeHead(302, { location: '/os.img.gz' }).end();
  if (url === '/two.zip') return sendWithRanges(req, res, TWO);
  if (url === '/no-ranges/two.zip') return send(TWO);
  if (url === '/get?id=7') return send(GZ, { 'content-disposition': 'attachment; filename="armbian.img.gz"' });
  if (url === '/page.img') return send(Buffer.from('<html>hello</html>'), { 'content-type': 'text/html; charset=utf-8' });
  if (url === '/script.img.gz') return send(gzipSync(Buffer.alloc(1024 * 1024, 1)), { 'content-type': 'text/html; charset=UTF-8' });
  if (url === '/login') return send(Buffer.from('Please log in to continue.\n'), { 'content-type': 'text/html' });
  if (url === '/signin.img') return send(Buffer.from('<!DOCTYPE html>\n<html><title>Sign in</title></html>'), { 'content-type': 'application/octet-stream' });
  if (url === '/notes.img') return send(Buffer.from('just some text\n'.repeat(100)), { 'content-type': 'application/octet-stream' });
  res.writeHead(404, { 'content-type': 'text/plain' }).end('no');
});
let base = '';

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe('inspectUrl', () => {
  it('a gzip image: name from the address, stored size from Content-Length, format by content, the published checksum', async () => {
    const info = await inspectUrl(`${base}/os.img.gz`);
    assert.equal(info.url, `${base}/os.img.gz`);
    assert.equal(info.path, undefined);
    assert.equal(info.name, 'os.img.gz');
    assert.equal(info.storedSize, GZ.length);
    assert.deepEqual(info.formats, ['gzip']);
    assert.equal(info.imageSize, undefined);
    assert.equal(info.checksum, createHash('sha256').update(GZ).digest('hex'));
    assert.equal(info.checksumFile, 'os.img.gz.sha256');
  });

  it('a link that redirects (a "latest" link): the checksum published beside the file it leads to is found', async () => {
    const info = await inspectUrl(`${base}/latest`);
    assert.equal(info.url, `${base}/latest`);
    assert.equal(info.name, 'os.img.gz');
    assert.equal(info.checksum, createHash('sha256').update(GZ).digest('hex'));
    assert.equal(info.checksumFile, 'os.img.gz.sha256');
  });

  it('a raw image reads only its head, and its size is the image size', async () => {
    sentBytes = 0;
    const info = await inspectUrl(`${base}/os.img`);
    assert.deepEqual(info.formats, ['raw']);
    assert.equal(info.imageSize, RAW.length);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(sentBytes < RAW.length, `the server sent ${sentBytes} of ${RAW.length} bytes: inspecting downloaded the image`);
  });

  it('a zip with several images: listed from its directory by range requests, then the chosen one sized', async () => {
    const listed = await inspectUrl(`${base}/two.zip`);
    assert.deepEqual(listed.formats, ['zip']);
    assert.deepEqual(listed.entries, ['a.img', 'b.img']);
    assert.equal(listed.entry, undefined);
    const chosen = await inspectUrl(`${base}/two.zip`, 'b.img');
    assert.equal(chosen.entry, 'b.img');
    assert.equal(chosen.imageSize, 1536 * 1024);
    await assert.rejects(inspectUrl(`${base}/two.zip`, 'c.img'), (error: unknown) => error instanceof BlockwiseError && error.code === 'ARCHIVE_ENTRY_NOT_FOUND');
    // A server without ranges: no listing (the flash will decide as it streams), no error.
    const plain = await inspectUrl(`${base}/no-ranges/two.zip`);
    assert.deepEqual(plain.formats, ['zip']);
    assert.equal(plain.entries, undefined);
  });

  it('an image a download script labels text/html is an image: the bytes decide', async () => {
    const info = await inspectUrl(`${base}/script.img.gz`);
    assert.deepEqual(info.formats, ['gzip']);
  });

  it('Content-Disposition names the file when the address does not', async () => {
    const info = await inspectUrl(`${base}/get?id=7`);
    assert.equal(info.name, 'armbian.img.gz');
    assert.deepEqual(info.formats, ['gzip']);
  });

  it('404, a web page, text, and nobody listening are errors that say so', async () => {
    const cases: Array<[string, string, RegExp]> = [
      [`${base}/missing.img`, 'DOWNLOAD_FAILED', /answered 404/],
      [`${base}/page.img`, 'SOURCE_NOT_IMAGE', /web page/],
      [`${base}/login`, 'SOURCE_NOT_IMAGE', /is a web page \(HTML\)/],
      [`${base}/signin.img`, 'SOURCE_NOT_IMAGE', /is a web page \(HTML\), not a disk image\. Copy the link/],
      [`${base}/notes.img`, 'SOURCE_NOT_IMAGE', /is text/],
      ['http://127.0.0.1:9/os.img', 'DOWNLOAD_FAILED', /Could not download http:\/\/127\.0\.0\.1:9\/os\.img/],
    ];
    for (const [url, code, message] of cases) {
      await assert.rejects(
        inspectUrl(url),
        (error: unknown) => error instanceof BlockwiseError && error.code === code && message.test(error.message),
        url,
      );
    }
  });
});

describe('names', () => {
  it('reads Content-Disposition, preferring filename*, never a folder', () => {
    assert.equal(dispositionName('attachment; filename="a.img.xz"'), 'a.img.xz');
    assert.equal(dispositionName("attachment; filename=plain.img; filename*=UTF-8''caf%C3%A9.img"), 'café.img');
    assert.equal(dispositionName('attachment; filename="../../etc/passwd"'), 'passwd');
    assert.equal(dispositionName('inline'), undefined);
    assert.equal(dispositionName(undefined), undefined);
  });

  it('takes the last segment of an address, decoded', () => {
    assert.equal(urlName('https://example.org/dl/Fedora%20ARM.raw.xz?x=1'), 'Fedora ARM.raw.xz');
    assert.equal(urlName('https://example.org/'), 'example.org');
  });
});
