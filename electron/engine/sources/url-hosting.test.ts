// Downloads from servers that behave like real hosting does, flashed to real loop devices: bodies
// compressed on the way (Content-Encoding) although identity was asked for; a kept download whose
// file changed on the server, or was cut short on disk since; a server that goes silent; https
// with a certificate nobody trusts; busy and refusing servers; images labelled text/html.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { BlockwiseError } from '../../../shared/errors';
import type { FlashJob, FlashResult } from '../../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import './register';
import { runFlash } from '../flash';
import { startDownload } from './url-download';

const skip = loopSkipReason();
if (skip) console.log(`# skipping URL hosting tests: ${skip}`);

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('URL sources from real-world hosting', { skip }, () => {
  const image = randomBytes(3 * MiB + 512);
  const gz = zlib.gzipSync(image);
  /** path → what the server answers: status 200 with these headers and body. */
  const routes = new Map<string, { headers: http.OutgoingHttpHeaders; body: Buffer }>();
  const text = (s: string) => ({ headers: { 'content-type': 'text/plain' }, body: Buffer.from(s) });
  let server: http.Server;
  let base = '';
  let tls: https.Server | undefined;
  let tlsBase = '';
  let dir = '';
  /** The file at /changing/disk.img: its version (ETag), whether the server is up, full answers. */
  const versions = [image, randomBytes(3 * MiB + 512)];
  const changing = { version: 0, down: false, bodies: 0 };
  const devices: LoopDevice[] = [];
  const device = () => {
    const d = createLoopDevice(4 * MiB, { fill: 'garbage' });
    devices.push(d);
    return d;
  };

  before(async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    // A raw image compressed by a server that ignores Accept-Encoding: identity.
    const onTheWay = zlib.gzipSync(image);
    routes.set('/enc/disk.img', { headers: { 'content-encoding': 'gzip', 'content-length': onTheWay.length }, body: onTheWay });
    routes.set('/enc/disk.img.sha256', text(`${sha256(image)}  disk.img\n`));
    routes.set('/br/disk.img', { headers: { 'content-encoding': 'br' }, body: zlib.brotliCompressSync(image) });
    routes.set('/br/disk.img.sha256', text(`${sha256(image)}  disk.img\n`));
    // "deflate" as HTTP means zlib-wrapped; some servers (old IIS among them) send it bare.
    routes.set('/deflate/disk.img', { headers: { 'content-encoding': 'deflate' }, body: zlib.deflateSync(image) });
    routes.set('/deflate/disk.img.sha256', text(`${sha256(image)}  disk.img\n`));
    routes.set('/raw-deflate/disk.img', { headers: { 'content-encoding': 'deflate' }, body: zlib.deflateRawSync(image) });
    routes.set('/raw-deflate/disk.img.sha256', text(`${sha256(image)}  disk.img\n`));
    // A stored .gz labelled gzip (S3 metadata, gzip_static): the body is the file itself.
    routes.set('/label/disk.img.gz', { headers: { 'content-encoding': 'gzip', 'content-type': 'application/gzip', 'content-length': gz.length }, body: gz });
    routes.set('/label/disk.img.gz.sha256', text(`${sha256(gz)}  disk.img.gz\n`));
    // A stored .gz compressed once more on the way.
    const twice = zlib.gzipSync(gz);
    routes.set('/twice/disk.img.gz', { headers: { 'content-encoding': 'gzip', 'content-length': twice.length }, body: twice });
    routes.set('/twice/disk.img.gz.sha256', text(`${sha256(gz)}  disk.img.gz\n`));
    // A download script (PHP's default type) sending the image as text/html; and a real sign-in page.
    routes.set('/script/disk.img.gz', { headers: { 'content-type': 'text/html; charset=UTF-8' }, body: gz });
    routes.set('/script/login', { headers: { 'content-type': 'text/html' }, body: Buffer.from('Please sign in to download.\n') });
    routes.set('/zstd/disk.img', { headers: { 'content-encoding': 'zstd' }, body: image });
    dir = mkdtempSync('/dev/shm/blockwise-hosting-');
    server = http.createServer((req, res) => {
      if (req.url === '/changing/disk.img') {
        const etag = `"v${changing.version}"`;
        if (changing.down) res.writeHead(503, { 'retry-after': '60' }).end();
        else if (req.headers['if-none-match'] === etag) res.writeHead(304, { etag }).end();
        else {
          changing.bodies++;
          const body = versions[changing.version]!;
          res.writeHead(200, { etag, 'last-modified': new Date(Date.UTC(2024, 0, 1 + changing.version)).toUTCString(), 'content-length': body.length });
          res.end(body);
        }
        return;
      }
      if (req.url === '/stall/disk.img') {
        // Headers and a MiB, then silence (the connection stays open).
        res.writeHead(200, { 'content-length': image.length });
        res.write(image.subarray(0, MiB));
        return;
      }
      if (req.url?.startsWith('/private/')) {
        // A private mirror: basic auth from the address's user:password.
        if (req.headers.authorization !== `Basic ${Buffer.from('user:s3cret').toString('base64')}`) return res.writeHead(401).end();
        if (req.url === '/private/disk.img') return res.writeHead(200, { 'content-length': image.length }).end(image);
        if (req.url === '/private/disk.img.sha256') return res.writeHead(200, { 'content-type': 'text/plain' }).end(`${'0'.repeat(64)}  disk.img\n`);
      }
      if (req.url === '/whole-206/disk.img') {
        return res.writeHead(206, { 'content-range': `bytes 0-${image.length - 1}/${image.length}`, 'content-length': image.length }).end(image);
      }
      if (req.url === '/part-206/disk.img') return res.writeHead(206, { 'content-range': `bytes 0-99/${image.length}`, 'content-length': 100 }).end(image.subarray(0, 100));
      if (req.url === '/moved/disk.img') return res.writeHead(302, { location: '/gone/disk.img' }).end();
      if (req.url === '/silent/disk.img') return;
      if (req.url === '/busy/disk.img') return res.writeHead(503, { 'retry-after': '60' }).end();
      if (req.url === '/expired/disk.img') return res.writeHead(403).end();
      const route = routes.get(req.url ?? '');
      if (!route) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found');
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', ...route.headers });
      res.end(route.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`], {
        stdio: 'ignore',
      });
      tls = https.createServer({ key: readFileSync(`${dir}/key.pem`), cert: readFileSync(`${dir}/cert.pem`) }, (req, res) => {
        if (req.url === '/to-http') return res.writeHead(302, { location: `${base}/enc/disk.img` }).end();
        res.end(image);
      });
      await new Promise<void>((resolve) => tls!.listen(0, '127.0.0.1', resolve));
      tlsBase = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    } catch {
      tls = undefined; // no openssl: the certificate test is skipped
    }
  });
  after(async () => {
    for (const d of devices) d.dispose();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    if (tls) {
      tls.closeAllConnections();
      await new Promise((resolve) => tls!.close(resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const job = (url: string, dev: LoopDevice, cachePath?: string): FlashJob => ({
    source: { kind: 'url', url, ...(cachePath ? { cachePath } : {}) },
    targets: [{ path: dev.path }],
    options: { verify: true, full: true },
  });
  const flash = (j: FlashJob): Promise<FlashResult> => runFlash(j, { signal: new AbortController().signal, onProgress: () => {} });

  test('Content-Encoding is undone, so the published checksum of the file as stored matches', async () => {
    for (const url of ['/enc/disk.img', '/br/disk.img', '/deflate/disk.img', '/raw-deflate/disk.img', '/label/disk.img.gz', '/twice/disk.img.gz']) {
      const dev = device();
      const result = await flash(job(`${base}${url}`, dev));
      assert.equal(result.checksumVerified, true, url);
      assert.equal(result.fileSha256 ?? result.imageSha256, sha256(url.endsWith('.gz') ? gz : image), url);
      assert.ok(readBacking(dev, 0, image.length).equals(image), `${url}: the image on the drive`);
    }
  });

  test('a Content-Encoding Blockwise cannot undo is refused before anything is written', async () => {
    const dev = device();
    const before = readBacking(dev, 0, 8192);
    const error = await flash(job(`${base}/zstd/disk.img`, dev)).then(
      () => assert.fail('expected DOWNLOAD_FAILED'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BlockwiseError && error.code === 'DOWNLOAD_FAILED', String(error));
    assert.match(error.message, /compressed as "zstd" \(Content-Encoding\)/);
    assert.ok(readBacking(dev, 0, 8192).equals(before), 'nothing written');
  });

  test('a kept download is reused only while the server has that version and the file is whole', async () => {
    const url = `${base}/changing/disk.img`;
    const cachePath = path.join(dir, 'downloads', 'disk.img');
    const flashed = async (expected: Buffer, bodies: number, why: string) => {
      const dev = device();
      await flash(job(url, dev, cachePath));
      assert.ok(readBacking(dev, 0, expected.length).equals(expected), `${why}: the drive holds the right version`);
      assert.equal(changing.bodies, bodies, `${why}: full downloads so far`);
      assert.ok(readFileSync(cachePath).equals(expected), `${why}: the kept file`);
    };
    await flashed(versions[0]!, 1, 'first flash');
    await flashed(versions[0]!, 1, 'unchanged (304)');
    changing.version = 1;
    await flashed(versions[1]!, 2, 'changed on the server');
    truncateSync(cachePath, MiB);
    await flashed(versions[1]!, 3, 'kept file cut short');
    changing.down = true;
    await flashed(versions[1]!, 3, 'server down: the kept, checked copy serves');
  });

  async function failure(promise: Promise<unknown>): Promise<BlockwiseError> {
    const error = await promise.then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BlockwiseError, String(error));
    return error;
  }

  test('a server that goes silent ends the download after the idle timeout, saying so and where', async () => {
    const download = await startDownload(`${base}/stall/disk.img`, 400);
    const drained = (async () => {
      for await (const chunk of download.body) assert.ok(chunk.length > 0);
    })();
    const error = await failure(drained);
    assert.equal(error.code, 'DOWNLOAD_FAILED');
    assert.match(error.message, new RegExp(`broke off at byte ${MiB} of ${image.length}: the server sent nothing for 0\\.4 s`));
    assert.equal(error.details.offset, MiB);
    const silent = await failure(startDownload(`${base}/silent/disk.img`, 400));
    assert.match(silent.message, /the server sent nothing for 0\.4 s/);
  });

  test('https with a certificate nobody trusts is refused in words, before anything is written', async (t) => {
    if (!tls) return t.skip('openssl is not installed');
    const dev = device();
    const before = readBacking(dev, 0, 8192);
    const error = await failure(flash(job(`${tlsBase}/disk.img`, dev)));
    assert.equal(error.code, 'DOWNLOAD_FAILED');
    assert.match(error.message, /certificate is not trusted \(self-signed certificate\)/);
    assert.ok(readBacking(dev, 0, 8192).equals(before), 'nothing written');
  });

  test('a busy, refusing or missing file: the status, what it usually means, and the address redirected from', async () => {
    const busy = await failure(startDownload(`${base}/busy/disk.img`));
    assert.match(busy.message, /answered 503 Service Unavailable for .*: the server is busy and asks to try again in 60 s\./);
    const expired = await failure(startDownload(`${base}/expired/disk.img`));
    assert.match(expired.message, /answered 403 Forbidden .*the link may have expired/);
    const moved = await failure(startDownload(`${base}/moved/disk.img`));
    assert.match(moved.message, /answered 404 Not Found for http:\/\/127\.0\.0\.1:\d+\/gone\/disk\.img \(redirected from http:\/\/127\.0\.0\.1:\d+\/moved\/disk\.img\): there is no file/);
  });

  test('the bytes decide, not Content-Type: an image sent as text/html is written; a text page is refused as a web page', async () => {
    const dev = device();
    await flash(job(`${base}/script/disk.img.gz`, dev));
    assert.ok(readBacking(dev, 0, image.length).equals(image));
    const page = await failure(flash(job(`${base}/script/login`, device())));
    assert.equal(page.code, 'SOURCE_NOT_IMAGE');
    assert.match(page.message, /returned a web page, not a disk image/);
  });

  test('a secure link that redirects to a plain http:// address is refused, naming both', async (t) => {
    if (!tls) return t.skip('openssl is not installed');
    // Trusted for this test only, so the redirect itself is reached.
    https.globalAgent.options.ca = readFileSync(`${dir}/cert.pem`);
    try {
      const error = await failure(startDownload(`${tlsBase}/to-http`));
      assert.equal(error.code, 'DOWNLOAD_FAILED');
      assert.match(error.message, /\/to-http redirects to http:\/\/127\.0\.0\.1:\d+\/enc\/disk\.img, an unencrypted address/);
    } finally {
      delete https.globalAgent.options.ca;
    }
  });

  test('a password in the address is used, and masked in every message', async () => {
    const secret = (port: string, p: string) => `http://user:s3cret@127.0.0.1:${port}${p}`;
    const port = new URL(base).port;
    const mismatch = await failure(flash(job(secret(port, '/private/disk.img'), device())));
    assert.equal(mismatch.code, 'CHECKSUM_MISMATCH', 'the image and its checksum file were fetched with the credentials');
    assert.match(mismatch.message, /user:\*\*\*@127\.0\.0\.1:\d+\/private\/disk\.img\.sha256/);
    const missing = await failure(flash(job(secret(port, '/private/gone.img'), device())));
    assert.equal(missing.code, 'DOWNLOAD_FAILED');
    for (const error of [mismatch, missing]) {
      assert.doesNotMatch(JSON.stringify({ message: error.message, details: error.details }), /s3cret/);
    }
  });

  test('a 206 nobody asked for: the whole file in it is written, a part of it is refused before writing', async () => {
    const dev = device();
    await flash(job(`${base}/whole-206/disk.img`, dev));
    assert.ok(readBacking(dev, 0, image.length).equals(image));
    const part = await failure(startDownload(`${base}/part-206/disk.img`));
    assert.match(part.message, /answered 206 Partial Content/);
  });
});
