// Flashing from http:// addresses served by a real local server to real loop devices: raw and gzip
// images, redirects, a connection cut mid-body (and resumed), 404/500, web pages, progress, the cache, Cancel,
// and checksums and .bmap files published beside the URL.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import type { ChecksumSpec, FlashJob, FlashProgress } from '../../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { sendWithRanges } from '../../test-support/http-ranges';
import './register';
import { runFlash } from '../flash';
import { bmaptoolCreate, bmaptoolSkipReason, makeSparseImage } from '../bmap/bmap-fixtures';
import { sectorsWritten } from '../targets/device-geometry';
import { RESUME_PAUSES_MS } from './url-download';

const skip = loopSkipReason();
if (skip) console.log(`# skipping URL source tests: ${skip}`);

const MiB = 1024 * 1024;
const CUT_AT = 3 * MiB + 123;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('URL sources on loop devices', { skip }, () => {
  const image = randomBytes(6 * MiB + 512);
  const gz = execFileSync('gzip', ['-c'], { input: image, maxBuffer: 64 * MiB });
  const hits = new Map<string, number>();
  let sparse: Buffer = Buffer.alloc(0);
  let stalledClosed = false;
  let onStall = () => {};
  /** Range headers the flaky routes were asked for, by route. */
  const ranges = new Map<string, string[]>();
  /** Published files: path → body (images with their checksums and maps beside them). */
  const files = new Map<string, { body: Buffer; type?: string }>();
  let server: http.Server;
  let base = '';
  let dir = '';
  const devices: LoopDevice[] = [];
  const device = () => {
    const d = createLoopDevice(8 * MiB, { fill: 'garbage' });
    devices.push(d);
    return d;
  };

  const otherImage = randomBytes(3 * MiB);
  /** Under 1 MiB: an archive's entry is taken for the image by its size only from 1 MiB on. */
  const smallImage = randomBytes(256 * 1024);
  const send = (res: http.ServerResponse, body: Buffer, type = 'application/octet-stream') => {
    res.writeHead(200, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  };

  before(async () => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-url-');
    if (!bmaptoolSkipReason()) {
      sparse = makeSparseImage(path.join(dir, 'sparse.img'), 6 * MiB, [
        { at: 0, length: 4096 },
        { at: 2 * MiB, length: 300_000 },
      ]);
      bmaptoolCreate(path.join(dir, 'sparse.img'), path.join(dir, 'sparse.img.bmap'));
      files.set('/pub/sparse.img', { body: sparse });
      files.set('/pub/sparse.img.bmap', { body: readFileSync(path.join(dir, 'sparse.img.bmap')), type: 'application/xml' });
    }
    files.set('/pub/disk.img.gz', { body: gz });
    // A preallocated file that never got its bytes, published under a compressed name.
    files.set('/pub/unfinished.img.xz', { body: Buffer.alloc(MiB) });
    files.set('/pub/disk.img.gz.sha256', { body: Buffer.from(`${sha256(gz)}  disk.img.gz\n`), type: 'text/plain' });
    files.set('/bad/disk.img', { body: image });
    files.set('/bad/SHA256SUMS', { body: Buffer.from(`${sha256(gz)}  disk.img.gz\n${'1'.repeat(64)}  disk.img\n`), type: 'text/plain' });
    files.set('/soft/disk.img', { body: image });
    files.set('/soft-text/disk.img', { body: image });
    files.set('/broken-map/disk.img', { body: image });
    files.set('/broken-map/disk.img.bmap', { body: Buffer.from('<?xml version="1.0"?>\n<bmap version="2.0">\n<ImageSize>12'), type: 'application/xml' });
    // The image first, then another member and the central directory: the decoder stops early.
    writeFileSync(path.join(dir, 'disk.img'), image);
    writeFileSync(path.join(dir, 'readme.txt'), 'notes\n'.repeat(50_000));
    execFileSync('zip', ['-q', '-1', 'bundle.zip', 'disk.img', 'readme.txt'], { cwd: dir });
    files.set('/pub/bundle.zip', { body: readFileSync(path.join(dir, 'bundle.zip')) });
    writeFileSync(path.join(dir, 'other.img'), otherImage);
    execFileSync('zip', ['-q', '-1', 'two.zip', 'readme.txt', 'disk.img', 'other.img'], { cwd: dir });
    files.set('/pub/two.zip', { body: readFileSync(path.join(dir, 'two.zip')) });
    // As streaming zip writers make them: sizes and CRC-32 in a data descriptor after each entry's data.
    const streamedZip = (names: string[]) =>
      execFileSync('python3', ['-c', `import sys, zipfile\nwith zipfile.ZipFile(sys.stdout.buffer, 'w', zipfile.ZIP_DEFLATED) as z:\n  for n in sys.argv[1:]: z.write(n)`, ...names], { cwd: dir, maxBuffer: 64 * MiB });
    const streamed = streamedZip(['disk.img', 'readme.txt']);
    assert.equal(streamed.readUInt16LE(6) & 0x08, 0x08, 'sizes deferred to a data descriptor');
    files.set('/pub/streamed.zip', { body: streamed });
    const damagedZip = Buffer.from(streamed);
    damagedZip.writeUInt8(damagedZip.readUInt8(4 * MiB) ^ 0x01, 4 * MiB); // inside disk.img's random (stored-as-is) deflate blocks: inflates, wrongly
    files.set('/pub/streamed-damaged.zip', { body: damagedZip });
    files.set('/pub/streamed-two.zip', { body: streamedZip(['disk.img', 'other.img']) });
    // Written to a pipe (`… | zip - -`), zip names what it read from its stdin "-" and defers sizes
    // and CRC-32 to a data descriptor (with zip64 sizes, unless -fz-).
    const pipedZip = (data: Buffer, args: string[] = []) => execFileSync('zip', ['-q', ...args, '-', '-'], { input: data, maxBuffer: 64 * MiB });
    const piped = pipedZip(image);
    assert.equal(piped.readUInt16LE(6) & 0x08, 0x08, 'sizes deferred to a data descriptor');
    assert.equal(piped.toString('latin1', 30, 31), '-');
    files.set('/pub/piped.zip', { body: piped });
    files.set('/pub/piped-small.zip', { body: pipedZip(smallImage, ['-fz-']) });
    writeFileSync(path.join(dir, 'piped-small.zip'), files.get('/pub/piped-small.zip')!.body);
    const pipedDamaged = Buffer.from(piped);
    pipedDamaged.writeUInt8(pipedDamaged.readUInt8(4 * MiB) ^ 0x01, 4 * MiB);
    files.set('/pub/piped-damaged.zip', { body: pipedDamaged });
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      hits.set(url, (hits.get(url) ?? 0) + 1);
      const file = files.get(url);
      if (file) return sendWithRanges(req, res, file.body, { 'content-type': file.type ?? 'application/octet-stream' });
      // The same files from a server that does not answer range requests: no zip directory to read first.
      const plain = url.startsWith('/plain/') ? files.get(url.slice('/plain'.length)) : undefined;
      if (plain) return send(res, plain.body);
      if (url.startsWith('/soft/')) return send(res, Buffer.from('<html><body>No such page</body></html>'), 'text/html');
      if (url.startsWith('/soft-text/')) return send(res, Buffer.from('File not found\n'), 'text/plain');
      switch (url) {
        case '/raw.img':
          return send(res, image);
        case '/disk.img.gz':
          // A kept download is reused only while the server still has that version.
          if (req.headers['if-none-match'] === '"gz-1"') {
            res.writeHead(304, { etag: '"gz-1"' });
            return res.end();
          }
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': gz.length, etag: '"gz-1"' });
          return res.end(gz);
        case '/sparse.img':
          return send(res, sparse);
        case '/start':
          res.writeHead(302, { location: '/hop' });
          return res.end();
        case '/latest':
        case '/latest-bad':
        case '/latest-sparse':
          // A "latest" link: the file it leads to has its checksum (or map) beside it, the link has none.
          res.writeHead(302, { location: { '/latest': '/pub/disk.img.gz', '/latest-bad': '/bad/disk.img', '/latest-sparse': '/pub/sparse.img' }[url] });
          return res.end();
        case '/hop':
          res.writeHead(301, { location: `${base}/disk.img.gz` });
          return res.end();
        case '/forever':
          res.writeHead(307, { location: '/forever' });
          return res.end();
        case '/cut':
        case '/cut-chunked':
          if (url === '/cut') res.writeHead(200, { 'content-length': image.length });
          else res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.write(image.subarray(0, CUT_AT), () => setTimeout(() => res.socket?.destroy(), 50));
          return;
        case '/flaky-hang.img':
          // Cut at CUT_AT; a request for the rest is never answered (the network went away).
          if (req.headers.range) {
            (ranges.get(url) ?? ranges.set(url, []).get(url)!).push(req.headers.range);
            return onStall();
          }
          res.writeHead(200, { etag: '"v1"', 'accept-ranges': 'bytes', 'content-length': image.length });
          res.write(image.subarray(0, CUT_AT), () => setTimeout(() => res.socket?.destroy(), 50));
          return;
        case '/flaky.img':
        case '/flaky-changed.img':
        case '/flaky-empty.img': {
          // A server with ranges whose connections break: the first at CUT_AT, a resumed one 1 MiB
          // later (/flaky.img), or every resumed one before its first byte (/flaky-empty.img).
          // /flaky-changed.img has a new version by the time the rest is asked for.
          const asked = req.headers.range;
          const etag = url === '/flaky-changed.img' && asked ? '"v2"' : '"v1"';
          const common = { etag, 'accept-ranges': 'bytes', 'last-modified': new Date(Date.UTC(2026, 0, 1)).toUTCString() };
          const cut = (body: Buffer) => res.write(body, () => setTimeout(() => res.socket?.destroy(), 50));
          if (!asked) {
            res.writeHead(200, { ...common, 'content-length': image.length });
            return cut(image.subarray(0, CUT_AT));
          }
          (ranges.get(url) ?? ranges.set(url, []).get(url)!).push(`${asked} if-range ${req.headers['if-range']}`);
          if (req.headers['if-range'] !== etag) {
            res.writeHead(200, { ...common, 'content-length': image.length });
            return res.end(image);
          }
          const start = Number(/^bytes=(\d+)-$/.exec(asked)?.[1]);
          res.writeHead(206, { ...common, 'content-length': image.length - start, 'content-range': `bytes ${start}-${image.length - 1}/${image.length}` });
          if (url === '/flaky-empty.img') return res.socket?.destroy();
          if (ranges.get(url)!.length === 1) return cut(image.subarray(start, start + MiB));
          return res.end(image.subarray(start));
        }
        case '/stall':
          // Part of the image, then silence: only Cancel can end this download early.
          res.writeHead(200, { 'content-length': image.length });
          res.write(image.subarray(0, 5 * MiB));
          req.socket.on('close', () => (stalledClosed = true));
          onStall();
          return;
        case '/page':
          return send(res, Buffer.from('<!doctype html><html><body>Download here</body></html>'), 'text/html; charset=utf-8');
        case '/sniffed':
          return send(res, Buffer.from('<!DOCTYPE html>\n<html><head><title>Mirror</title></head></html>'));
        case '/error':
          res.writeHead(500);
          return res.end('boom');
        default:
          res.writeHead(404);
          return res.end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const d of devices) d.dispose();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const job = (url: string, dev: LoopDevice, extra: { cachePath?: string; checksum?: ChecksumSpec } = {}): FlashJob => {
    const j: FlashJob = { source: { kind: 'url', url }, targets: [{ path: dev.path }], options: { verify: true, full: true } };
    if (extra.cachePath && j.source.kind === 'url') j.source.cachePath = extra.cachePath;
    if (extra.checksum) j.options.checksum = extra.checksum;
    return j;
  };
  const flash = (j: FlashJob, events: FlashProgress[] = []) => runFlash(j, { signal: new AbortController().signal, onProgress: (p) => events.push(p) });
  async function expectError(j: FlashJob, code: string, pattern: RegExp): Promise<BlockwiseError> {
    const error = await flash(j).then(
      () => assert.fail(`expected ${code}, but the flash reported success`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BlockwiseError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return error;
  }

  test('a raw image streams to the drive byte for byte, with download progress', async () => {
    const dev = device();
    const events: FlashProgress[] = [];
    const result = await flash(job(`${base}/raw.img`, dev), events);
    assert.ok(result.targets[0]!.ok && result.targets[0]!.verified);
    assert.ok(readBacking(dev, 0, image.length).equals(image));
    assert.equal(result.imageSha256, sha256(image));
    const writing = events.filter((e) => e.phase === 'writing');
    assert.equal(writing.at(-1)!.total, image.length, 'size from Content-Length');
    assert.ok(writing.some((e) => (e.sourcePosition ?? 0) > 0), 'download position reported');
  });

  test('redirects are followed to a gzip image, decoded while downloading; the stored SHA-256 is known', async () => {
    const dev = device();
    const events: FlashProgress[] = [];
    const result = await flash(job(`${base}/start`, dev, { checksum: { algorithm: 'sha256', hex: sha256(gz), of: 'file' } }), events);
    assert.ok(readBacking(dev, 0, image.length).equals(image));
    assert.equal(result.fileSha256, sha256(gz));
    assert.equal(result.checksumVerified, true);
    assert.ok(events.some((e) => e.sourceTotal === gz.length), 'download total reported');
    await expectError(job(`${base}/forever`, device()), 'DOWNLOAD_FAILED', /redirects more than 10 times/);
  });

  test('a connection cut mid-body names the byte reached and leaves the drive incomplete', async () => {
    for (const url of ['/cut', '/cut-chunked']) {
      const dev = device();
      const error = await expectError(job(`${base}${url}`, dev), 'DOWNLOAD_FAILED', new RegExp(`^The download of ${base}${url} broke off at byte ${CUT_AT}`));
      assert.equal(error.message.split(`${base}${url}`).length, 2, `${url}: the address is named once: ${error.message}`);
      assert.equal(error.details.offset, CUT_AT, url);
      assert.equal(error.details.driveIncomplete, true, url);
      assert.ok(readBacking(dev, 0, 8192).equals(Buffer.alloc(8192)), `${url}: no partition table`);
    }
  });

  test('a broken connection is resumed where it stopped when the server serves ranges: every byte lands, once', async () => {
    const dev = device();
    const events: FlashProgress[] = [];
    const result = await flash(job(`${base}/flaky.img`, dev), events);
    assert.ok(result.targets[0]!.ok && result.targets[0]!.verified);
    // Progress said where it broke and that it was reconnecting, with no time-left guess meanwhile.
    const notices = events.filter((e) => e.reconnecting !== undefined);
    for (const at of [CUT_AT, CUT_AT + MiB]) {
      assert.ok(
        notices.some((e) => e.reconnecting!.atByte === at && e.reconnecting!.attempt === 1 && e.reconnecting!.attempts === 5 && e.reconnecting!.reason === 'the connection was closed'),
        `reconnecting at ${at} reported: ${JSON.stringify(notices.map((e) => e.reconnecting))}`,
      );
    }
    assert.ok(notices.every((e) => e.eta === undefined), 'no estimate while reconnecting');
    assert.equal(events.filter((e) => e.phase === 'writing').at(-1)!.reconnecting, undefined, 'cleared once resumed');
    assert.ok(readBacking(dev, 0, image.length).equals(image));
    assert.equal(result.imageSha256, sha256(image));
    // Two breaks, two resumes, each from the byte reached and only for the same version of the file.
    assert.deepEqual(ranges.get('/flaky.img'), [`bytes=${CUT_AT}- if-range "v1"`, `bytes=${CUT_AT + MiB}- if-range "v1"`]);
  });

  test('a resume that finds the file changed, or gets no byte five times in a row, fails naming the byte reached and why', async () => {
    const changed = await expectError(job(`${base}/flaky-changed.img`, device()), 'DOWNLOAD_FAILED', new RegExp(`broke off at byte ${CUT_AT} of ${image.length}: the connection was closed; it could not be resumed: the server sent the whole file again, not the rest \\(it may have changed since the download began\\)`));
    assert.equal(changed.details.offset, CUT_AT);
    assert.equal(changed.details.driveIncomplete, true);
    const pauses = RESUME_PAUSES_MS.splice(0, RESUME_PAUSES_MS.length, 10, 10, 10, 10, 10);
    try {
      const dev = device();
      const empty = await expectError(job(`${base}/flaky-empty.img`, dev), 'DOWNLOAD_FAILED', new RegExp(`broke off at byte ${CUT_AT} of ${image.length}: the connection was closed; 5 attempts in a row to resume it failed`));
      assert.equal(empty.details.offset, CUT_AT);
      assert.equal(ranges.get('/flaky-empty.img')?.length, 5, 'five attempts, then it gave up');
      assert.ok(readBacking(dev, 0, 8192).equals(Buffer.alloc(8192)), 'no partition table');
    } finally {
      RESUME_PAUSES_MS.splice(0, RESUME_PAUSES_MS.length, ...pauses);
    }
  });

  test('404, 500, a web page and an unreachable server fail before anything is written', async () => {
    const dev = device();
    const before = await sectorsWritten(dev.path);
    const e404 = await expectError(job(`${base}/missing.img`, dev), 'DOWNLOAD_FAILED', /answered 404/);
    assert.equal(e404.details.status, 404);
    assert.equal((await expectError(job(`${base}/error`, dev), 'DOWNLOAD_FAILED', /answered 500/)).details.status, 500);
    await expectError(job(`${base}/page`, dev), 'SOURCE_NOT_IMAGE', /the URL returned a web page/i);
    await expectError(job(`${base}/sniffed`, dev), 'SOURCE_NOT_IMAGE', /the URL returned a web page/i);
    await expectError(job('ftp://127.0.0.1/x.img', dev), 'DOWNLOAD_FAILED', /not an http/);
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expectError(job(`http://127.0.0.1:${deadPort}/x.img`, dev), 'DOWNLOAD_FAILED', /ECONNREFUSED/);
    assert.equal(await sectorsWritten(dev.path), before, 'nothing written');
  });

  test('a download named .img.xz that holds neither xz nor a disk image is refused, not written raw', async () => {
    const dev = device();
    const before = await sectorsWritten(dev.path);
    const error = await expectError(job(`${base}/pub/unfinished.img.xz`, dev), 'SOURCE_CORRUPT', /unfinished\.img\.xz is named as an xz file, but its first 64 KiB are all zeros/);
    assert.match(error.message, /download it and rename it to end in \.img\)\.$/);
    assert.equal(await sectorsWritten(dev.path), before, 'nothing written');
  });

  test('the cache keeps only a complete, checksum-correct download and serves the next flash', async () => {
    const cachePath = path.join(dir, 'cache', 'disk.img.gz');
    // A broken download and a wrong checksum leave nothing behind.
    await expectError(job(`${base}/cut`, device(), { cachePath }), 'DOWNLOAD_FAILED', /broke off|ended at byte/);
    const wrong: ChecksumSpec = { algorithm: 'sha256', hex: '0'.repeat(64), of: 'auto' };
    await expectError(job(`${base}/disk.img.gz`, device(), { cachePath, checksum: wrong }), 'CHECKSUM_MISMATCH', /is the expected 0{64}\./);
    assert.deepEqual(readdirSync(path.dirname(cachePath)), [], 'no cache and no partial file');

    const first = hits.get('/disk.img.gz') ?? 0;
    await flash(job(`${base}/disk.img.gz`, device(), { cachePath }));
    assert.ok(readFileSync(cachePath).equals(gz), 'the download was kept as it was stored');
    assert.deepEqual(readdirSync(path.dirname(cachePath)), ['disk.img.gz', 'disk.img.gz.json'], 'the download and its record');
    const dev = device();
    const again = await flash(job(`${base}/disk.img.gz`, dev, { cachePath, checksum: { algorithm: 'sha256', hex: sha256(image), of: 'image' } }));
    assert.equal(hits.get('/disk.img.gz'), first + 2, 'the second flash only asked whether it changed');
    assert.equal(again.checksumVerified, true);
    assert.ok(readBacking(dev, 0, image.length).equals(image));
    assert.ok(existsSync(cachePath));
  });
  test('a zip download: its checksum is of the whole zip, and the cache keeps the whole zip', async () => {
    const zip = files.get('/pub/bundle.zip')!.body;
    const cachePath = path.join(dir, 'zip-cache', 'bundle.zip');
    const dev = device();
    const result = await flash(job(`${base}/pub/bundle.zip`, dev, { cachePath, checksum: { algorithm: 'sha256', hex: sha256(zip), of: 'auto' } }));
    assert.equal(result.checksumVerified, true);
    assert.equal(result.fileSha256, sha256(zip));
    assert.ok(readBacking(dev, 0, image.length).equals(image));
    assert.ok(readFileSync(cachePath).equals(zip), 'the kept download is the whole zip');
  });

  test('a zip download with two images: refused before writing unless one is chosen, then that one is written', async () => {
    const dev = device();
    const before = readBacking(dev, 0, 8 * MiB);
    const error = await expectError(job(`${base}/pub/two.zip`, dev), 'ARCHIVE_AMBIGUOUS', /disk\.img, other\.img/);
    assert.notEqual(error.details.driveIncomplete, true);
    assert.ok(readBacking(dev, 0, 8 * MiB).equals(before), 'nothing was written');
    const chosen = job(`${base}/pub/two.zip`, dev);
    if (chosen.source.kind === 'url') chosen.source.entry = 'other.img';
    const result = await flash(chosen);
    assert.equal(result.imageSize, otherImage.length);
    assert.ok(readBacking(dev, 0, otherImage.length).equals(otherImage));
  });

  test('a zip download from a server without ranges: the image is written, and a second image after it fails the flash', async () => {
    const one = device();
    await flash(job(`${base}/plain/pub/bundle.zip`, one));
    assert.ok(readBacking(one, 0, image.length).equals(image), 'disk.img written; readme.txt after it is no image');
    const dev = device();
    const error = await expectError(job(`${base}/plain/pub/two.zip`, dev), 'ARCHIVE_AMBIGUOUS', /plain\/pub\/two\.zip holds several images: disk\.img, other\.img\.$/);
    assert.equal(error.details.entries, 'disk.img\nother.img');
    assert.equal(error.details.driveIncomplete, true, 'disk.img had been written');
    assert.ok(readBacking(dev, 0, 8192).equals(Buffer.alloc(8192)), 'no partition table: the held-back head stays blank');
    const chosen = job(`${base}/plain/pub/two.zip`, dev);
    if (chosen.source.kind === 'url') chosen.source.entry = 'other.img';
    await flash(chosen);
    assert.ok(readBacking(dev, 0, otherImage.length).equals(otherImage));
  });

  test('a streamed zip (data descriptors) from a server without ranges: checked against its descriptor, and read past it', async () => {
    const dev = device();
    await flash(job(`${base}/plain/pub/streamed.zip`, dev));
    assert.ok(readBacking(dev, 0, image.length).equals(image));
    const damaged = await expectError(job(`${base}/plain/pub/streamed-damaged.zip`, device()), 'SOURCE_CORRUPT', /streamed-damaged\.zip: the entry disk\.img fails its CRC32 check/);
    assert.equal(damaged.details.driveIncomplete, true);
    await expectError(job(`${base}/plain/pub/streamed-two.zip`, device()), 'ARCHIVE_AMBIGUOUS', /holds several images: disk\.img, other\.img\.$/);
  });

  test('a zip made from a pipe (one entry named "-", sizes in a data descriptor): written from a server without ranges and as a local file; damaged, it fails its CRC32 check', async () => {
    const dev = device();
    await flash(job(`${base}/plain/pub/piped.zip`, dev));
    assert.ok(readBacking(dev, 0, image.length).equals(image));
    const small = device();
    const result = await flash(job(`${base}/plain/pub/piped-small.zip`, small));
    assert.equal(result.imageSize, smallImage.length);
    assert.ok(readBacking(small, 0, smallImage.length).equals(smallImage));
    const local = device();
    const fromFile = await flash({ source: { kind: 'file', path: path.join(dir, 'piped-small.zip') }, targets: [{ path: local.path }], options: { verify: true, full: true } });
    assert.ok(fromFile.targets[0]!.verified);
    assert.ok(readBacking(local, 0, smallImage.length).equals(smallImage));
    const damaged = await expectError(job(`${base}/plain/pub/piped-damaged.zip`, device()), 'SOURCE_CORRUPT', /piped-damaged\.zip: the entry - fails its CRC32 check/);
    assert.equal(damaged.details.driveIncomplete, true);
  });

  test('a .bmap named by the job applies to a download: only mapped ranges written and checked', { skip: bmaptoolSkipReason() }, async () => {
    const dev = device();
    const before = readBacking(dev, 0, dev.size);
    const j = job(`${base}/sparse.img`, dev);
    j.options.full = false;
    j.options.bmapPath = path.join(dir, 'sparse.img.bmap');
    const result = await flash(j);
    assert.ok(result.mappedBytes < MiB, `mapped ${result.mappedBytes}`);
    assert.ok(readBacking(dev, 2 * MiB, 300_000).equals(sparse.subarray(2 * MiB, 2 * MiB + 300_000)));
    assert.ok(readBacking(dev, 3 * MiB, 3 * MiB).equals(before.subarray(3 * MiB, 6 * MiB)), 'unmapped ranges untouched');
  });
  test('Cancel during a stalled download ends the flash at once as CANCELLED and closes the connection', async () => {
    const dev = device();
    const controller = new AbortController();
    // A second after the server went silent, the engine is long done with what it got and waits.
    onStall = () => setTimeout(() => controller.abort(), 1000);
    const j = job(`${base}/stall`, dev);
    const error = await runFlash(j, { signal: controller.signal, onProgress: () => {} }).then(
      () => assert.fail('expected CANCELLED, but the flash reported success'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BlockwiseError, String(error));
    assert.equal(error.code, 'CANCELLED', error.message);
    assert.equal(error.details.driveIncomplete, true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(stalledClosed, 'the server saw the connection closed');
  });
  test('Cancel while a broken download waits to be resumed ends the flash at once, not when the network answers', async () => {
    const controller = new AbortController();
    let cancelledAt = 0;
    // The request for the rest reached the server and will never be answered.
    onStall = () => {
      cancelledAt = performance.now();
      controller.abort();
    };
    const error = await runFlash(job(`${base}/flaky-hang.img`, device()), { signal: controller.signal, onProgress: () => {} }).then(
      () => assert.fail('expected CANCELLED, but the flash reported success'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BlockwiseError, String(error));
    assert.equal(error.code, 'CANCELLED', error.message);
    assert.deepEqual(ranges.get('/flaky-hang.img'), [`bytes=${CUT_AT}-`]);
    const took = performance.now() - cancelledAt;
    assert.ok(took < 5000, `Cancel took ${took.toFixed(0)} ms: it waited for the resume request`);
  });

  test('checksums and .bmap files published beside the URL are found and used', async () => {
    const ok = await flash(job(`${base}/pub/disk.img.gz`, device()));
    assert.equal(ok.checksumVerified, true, 'disk.img.gz.sha256 beside the download');
    const dev = device();
    const error = await expectError(job(`${base}/bad/disk.img`, dev), 'CHECKSUM_MISMATCH', /published in http:\/\/127\.0\.0\.1:\d+\/bad\/SHA256SUMS/);
    assert.equal(error.details.driveIncomplete, true);
    assert.ok(readBacking(dev, 0, 8192).equals(Buffer.alloc(8192)), 'no partition table');
    // Through a link that redirects: the checksum beside the file it leads to counts.
    const latest = await flash(job(`${base}/latest`, device()));
    assert.equal(latest.checksumVerified, true, 'disk.img.gz.sha256 beside the file /latest leads to');
    await expectError(job(`${base}/latest-bad`, device()), 'CHECKSUM_MISMATCH', /published in http:\/\/127\.0\.0\.1:\d+\/bad\/SHA256SUMS/);
    // A server answering every unknown path with a 200 web page has no checksum: the flash just works.
    const soft = await flash(job(`${base}/soft/disk.img`, device()));
    assert.equal(soft.checksumVerified, undefined);
    // …nor does one answering with a plain-text "not found": no checksum, no map, the whole image.
    const sparseJob = (url: string, dev: LoopDevice) => {
      const j = job(url, dev);
      j.options.full = false; // where a .bmap beside the image is looked for
      return j;
    };
    const softDev = device();
    const softText = await flash(sparseJob(`${base}/soft-text/disk.img`, softDev));
    assert.ok(softText.targets[0]!.verified);
    assert.ok(readBacking(softDev, 0, image.length).equals(image));
    // A real map that is damaged is still refused, before anything is written.
    await expectError(sparseJob(`${base}/broken-map/disk.img`, device()), 'BMAP_INVALID', /broken-map\/disk\.img\.bmap/);
    if (!bmaptoolSkipReason()) {
      const sparseDev = device();
      const j = job(`${base}/pub/sparse.img`, sparseDev);
      j.options.full = false;
      const mapped = await flash(j);
      assert.ok(mapped.mappedBytes < MiB, `sparse.img.bmap beside the URL was used (mapped ${mapped.mappedBytes})`);
      assert.equal(mapped.blockMap, `${base}/pub/sparse.img.bmap`, 'the result names the map that chose what was written');
      assert.equal(softText.blockMap, undefined);
      assert.ok(readBacking(sparseDev, 2 * MiB, 300_000).equals(sparse.subarray(2 * MiB, 2 * MiB + 300_000)));
      const latestDev = device();
      const latest = job(`${base}/latest-sparse`, latestDev);
      latest.options.full = false;
      const redirected = await flash(latest);
      assert.equal(redirected.blockMap, `${base}/pub/sparse.img.bmap`, 'the map beside the file the link leads to');
      assert.ok(readBacking(latestDev, 2 * MiB, 300_000).equals(sparse.subarray(2 * MiB, 2 * MiB + 300_000)));
    }
  });
});
