// Disk images inside tar archives (.tar, .tar.xz, .tar.gz, long names, nested .img.xz), flashed to
// a real loop device with GNU tar making the archives; and every way a tar can be wrong.

import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import type { FlashJob } from '../../../shared/flash-types';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { runFlash } from '../flash';
import './register';
import { inspectImage } from './inspect';

const skip = loopSkipReason();
const MiB = 1024 * 1024;
let dir = '';
let dev: LoopDevice;
/** Not a multiple of 512, so the tar padding after it matters. */
const image = randomBytes(3 * MiB + 777);
const other = randomBytes(4096);
const LONG = `${'deep-folder-'.repeat(12)}/${'raspios-like-'.repeat(10)}.img`;

const sh = (command: string) => execSync(command, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], shell: '/bin/bash' });
const file = (name: string) => path.join(dir, name);

function job(name: string, entry?: string): FlashJob {
  const source: FlashJob['source'] = entry === undefined ? { kind: 'file', path: file(name) } : { kind: 'file', path: file(name), entry };
  return { source, targets: [{ path: dev.path }], options: { verify: true, full: true } };
}

const flash = (j: FlashJob) => runFlash(j, { signal: new AbortController().signal, onProgress: () => {} });

async function expectError(j: FlashJob, code: string): Promise<BlockwiseError> {
  try {
    await flash(j);
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, `expected a BlockwiseError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the flash reported success`);
}

function deviceHoldsImage(): void {
  assert.ok(readBacking(dev, 0, image.length).equals(image), 'the device holds the image');
}

describe('tar archives on a loop device', { skip }, () => {
  before(() => {
    process.env.BLOCKWISE_INCLUDE_LOOP = '1';
    dir = mkdtempSync('/dev/shm/blockwise-tar-test-');
    dev = createLoopDevice(8 * MiB, { fill: 'garbage' });
    mkdirSync(file('t/' + path.dirname(LONG)), { recursive: true });
    writeFileSync(file('t/os.img'), image);
    writeFileSync(file('t/other.img'), other);
    writeFileSync(file('t/README.txt'), 'Flash os.img to an SD card.\n');
    writeFileSync(file('t/' + LONG), image);
    sh('xz -T1 -c t/os.img > t/nested.img.xz');
  });
  after(() => {
    dev?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases: Array<[string, string]> = [
    ['plain.tar', 'tar -C t -cf plain.tar README.txt os.img'],
    ['os.img.tar.xz', 'tar -C t -cJf os.img.tar.xz os.img README.txt'],
    ['os.tar.gz', 'tar -C t -czf os.tar.gz README.txt os.img'],
    ['long-gnu.tar', `tar -C t --format=gnu -cf long-gnu.tar README.txt '${LONG}'`],
    ['long-pax.tar.gz', `tar -C t --format=pax -czf long-pax.tar.gz README.txt '${LONG}'`],
    ['nested.tar', 'tar -C t -cf nested.tar README.txt nested.img.xz'],
    // Pre-POSIX headers carry no "ustar" magic: these were written to the drive as they are.
    ['v7.tar', 'tar -C t --format=v7 -cf v7.tar README.txt os.img'],
    ['v7.tar.gz', 'tar -C t --format=v7 -czf v7.tar.gz os.img'],
  ];
  for (const [name, command] of cases) {
    test(`${name}: the image inside is written and verified`, async () => {
      sh(command);
      const result = await flash(job(name));
      assert.equal(result.imageSize, image.length);
      assert.ok(result.targets[0]!.ok);
      deviceHoldsImage();
    });
  }

  test('a tar file with two images needs a choice; --entry picks one; inspect lists them', async () => {
    sh('tar -C t -cf two.tar README.txt other.img os.img');
    const writtenBefore = dev.bytesWritten();
    const error = await expectError(job('two.tar'), 'ARCHIVE_AMBIGUOUS');
    assert.match(error.message, /other\.img, os\.img/);
    assert.equal(dev.bytesWritten(), writtenBefore, 'nothing written before the choice');
    const info = await inspectImage(file('two.tar'));
    assert.deepEqual(info.entries, ['other.img', 'os.img']);
    await flash(job('two.tar', 'os.img'));
    deviceHoldsImage();
  });

  test('a tar updated with tar -r (os.img twice): the last is written, as tar -x leaves it; over a stream, the flash fails', async () => {
    mkdirSync(file('u'));
    writeFileSync(file('u/os.img'), other);
    sh('tar -C u -cf updated.tar os.img');
    writeFileSync(file('u/os.img'), image);
    sh('tar -C u -rf updated.tar os.img && xz -T1 -c updated.tar > updated.tar.xz');
    // At rest the headers are read first: the newer os.img is the image, with or without --entry.
    assert.deepEqual((await inspectImage(file('updated.tar'))).entries, undefined, 'nothing to choose');
    await flash(job('updated.tar'));
    deviceHoldsImage();
    await flash(job('updated.tar', 'os.img'));
    deviceHoldsImage();
    // A stream meets the old one first and writes it: the newer one after it fails the flash, even
    // when it was asked for by name (it used to end there, the old image written and "verified").
    for (const entry of [undefined, 'os.img']) {
      const error = await expectError(job('updated.tar.xz', entry), 'SOURCE_UNSUPPORTED');
      assert.match(error.message, /holds os\.img more than once .*extracting it keeps the last, but the first was written/);
    }
  });

  test('a .tar.gz with data after its end-of-archive blocks is read to its end: a CRC that fails there fails the flash', async () => {
    sh('tar -C t -cf pad.tar os.img && { cat pad.tar; head -c 3M /dev/zero; } | gzip -c > pad.tar.gz');
    await flash(job('pad.tar.gz'));
    deviceHoldsImage();
    // Random data is stored, not compressed: a flipped byte in it decodes silently, wrong; only
    // the CRC at the very end of the gzip member tells.
    const gz = readFileSync(file('pad.tar.gz'));
    gz[MiB] = gz[MiB]! ^ 0xff;
    writeFileSync(file('pad-damaged.tar.gz'), gz);
    const error = await expectError(job('pad-damaged.tar.gz'), 'SOURCE_CORRUPT');
    assert.match(error.message, /does not match its CRC-32|crc32 mismatch/);
  });

  test('a compressed tar with two images fails rather than pass a guess; --entry picks one', async () => {
    sh('tar -C t -cJf two.tar.xz os.img other.img');
    const error = await expectError(job('two.tar.xz'), 'ARCHIVE_AMBIGUOUS');
    assert.match(error.message, /holds several images: os\.img, other\.img\.$/);
    await flash(job('two.tar.xz', 'other.img'));
    assert.ok(readBacking(dev, 0, other.length).equals(other), 'the device holds other.img');
  });

  test('no image inside: ARCHIVE_NO_IMAGE listing what is there (file and stream)', async () => {
    sh('tar -C t -cf docs.tar README.txt && xz -c docs.tar > docs.tar.xz');
    for (const name of ['docs.tar', 'docs.tar.xz']) {
      const error = await expectError(job(name), 'ARCHIVE_NO_IMAGE');
      assert.match(error.message, /README\.txt\)\.$/, 'the list ends the sentence: no byte offset after it');
    }
    const missing = await expectError(job('plain.tar', 'nope.img'), 'ARCHIVE_ENTRY_NOT_FOUND');
    assert.match(missing.message, /no entry named nope\.img/);
  });

  test('a cut tar is SOURCE_TRUNCATED with the offset, a damaged header SOURCE_CORRUPT', async () => {
    sh('cp plain.tar cut.tar');
    truncateSync(file('cut.tar'), 2 * MiB);
    const cut = await expectError(job('cut.tar'), 'SOURCE_TRUNCATED');
    assert.equal(cut.details.offset, 2 * MiB);
    sh('xz -c cut.tar > cut.tar.xz');
    await expectError(job('cut.tar.xz'), 'SOURCE_TRUNCATED');
    sh('cp plain.tar bad.tar && printf XX | dd of=bad.tar bs=1 seek=3 conv=notrunc status=none');
    const bad = await expectError(job('bad.tar'), 'SOURCE_CORRUPT');
    assert.match(bad.message, /tar header at byte 0 is damaged/);
  });

  test('tars downloaded over http: the image inside is written; two images fail rather than guess', async () => {
    sh('tar -C t -cf web.tar README.txt os.img && gzip -c web.tar > web.tar.gz && tar -C t -cf web-two.tar other.img os.img');
    const served = new Set(['web.tar', 'web.tar.gz', 'web-two.tar']);
    const server = http.createServer((req, res) => {
      const name = path.basename(req.url ?? '');
      if (!served.has(name)) return void res.writeHead(404).end(); // checksum/.bmap lookups beside it
      const body = readFileSync(file(name));
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const urlJob = (name: string): FlashJob => ({ source: { kind: 'url', url: `${base}/${name}` }, targets: [{ path: dev.path }], options: { verify: true, full: true } });
    try {
      for (const name of ['web.tar', 'web.tar.gz']) {
        const result = await flash(urlJob(name));
        assert.equal(result.imageSize, image.length, name);
        deviceHoldsImage();
      }
      await expectError(urlJob('web-two.tar'), 'ARCHIVE_AMBIGUOUS');
    } finally {
      server.close();
    }
  });

  test('an image of 8 GiB or more in a pax tar (its size only in the pax record, the ustar field 0, as GNU tar and Python write it): scanned past, written', async () => {
    // Scaled down: the headers GNU tar --format=pax writes for a 9 GiB file, around this image.
    const ustar = (name: string, type: string, size: number): Buffer => {
      const h = Buffer.alloc(512);
      h.write(name, 0, 'utf8');
      h.write('0000644\0', 100, 'latin1');
      h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
      h.write('00000000000\0', 136, 'latin1');
      h.write(type, 156, 'latin1');
      h.write('ustar\x0000', 257, 'latin1');
      h.fill(0x20, 148, 156);
      h.write(h.reduce((n, b) => n + b, 0).toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
      return h;
    };
    const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
    const record = `size=${image.length}\n`;
    // A pax record counts its own length's digits: "16 size=3146505\n".
    const pax = Buffer.from(`${record.length + 3} ${record}`);
    assert.equal(pax.length, record.length + 3);
    const readme = Buffer.from('Flash os.img to an SD card.\n');
    const tar = Buffer.concat([
      ustar('PaxHeaders/os.img', 'x', pax.length), pad(pax),
      ustar('os.img', '0', 0), pad(image),
      ustar('README.txt', '0', readme.length), pad(readme),
      Buffer.alloc(1024),
    ]);
    writeFileSync(file('big-pax.tar'), tar);
    sh('tar -xOf big-pax.tar os.img | cmp -s - t/os.img'); // GNU tar reads it as this image
    const result = await flash(job('big-pax.tar'));
    assert.equal(result.imageSize, image.length);
    deviceHoldsImage();
  });

  test('a sparse entry (tar -S) is refused with what to do, not written with holes missing', async () => {
    sh('cp t/os.img t/sparse.img && fallocate -p -o 65536 -l 1048576 t/sparse.img && tar -C t -Scf sparse.tar sparse.img');
    const error = await expectError(job('sparse.tar'), 'SOURCE_UNSUPPORTED');
    assert.match(error.message, /sparse\.img is stored as a sparse file/);
  });
});
