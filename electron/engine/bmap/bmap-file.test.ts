// Parsing bmaptool's maps: real `bmaptool create` output (2.0), rewrites as 1.3 and 1.2, and every
// kind of damage ending in BMAP_INVALID with a reason.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError, describeError } from '../../../shared/errors';
import { bmapCandidates } from './bmap-choice';
import { parseBmap } from './bmap-file';
import { bmaptoolCreate, bmaptoolSkipReason, makeSparseImage, reseal, toVersion1 } from './bmap-fixtures';
import { parseXml } from './tiny-xml';

const skip = bmaptoolSkipReason();
if (skip) console.log(`# skipping bmap parsing tests: ${skip}`);

const KiB = 1024;

function invalid(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseBmap(Buffer.from(text), '/x/a.bmap'),
    (error: unknown) => error instanceof BlockwiseError && error.code === 'BMAP_INVALID' && pattern.test(error.message),
  );
}

describe('bmap parsing', { skip }, () => {
  let dir = '';
  let image: Buffer;
  let text = '';
  before(() => {
    dir = mkdtempSync('/dev/shm/blockwise-bmap-parse-');
    const file = path.join(dir, 'a.img');
    // 1 MiB + 1000 bytes: the last block is partial and mapped.
    image = makeSparseImage(file, 1024 * KiB + 1000, [
      { at: 0, length: 4 * KiB },
      { at: 100 * KiB, length: 30 * KiB },
      { at: 1024 * KiB, length: 1000 },
    ]);
    text = readFileSync(bmaptoolCreate(file, path.join(dir, 'a.bmap')), 'utf8');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads bmaptool 2.0 output: sizes, sha256 ranges, a partial last block clipped to the image', () => {
    const bmap = parseBmap(Buffer.from(text), 'a.bmap');
    assert.equal(bmap.version, '2.0');
    assert.equal(bmap.imageSize, image.length);
    assert.equal(bmap.blockSize, 4096);
    assert.equal(bmap.checksumType, 'sha256');
    assert.deepEqual(
      bmap.ranges.map((r) => [r.start, r.end]),
      [
        [0, 4096],
        [100 * KiB, 132 * KiB],
        [1024 * KiB, image.length],
      ],
    );
    assert.equal(bmap.mappedBytes, 4096 + 32 * KiB + 1000);
    assert.ok(bmap.ranges.every((r) => r.checksum?.length === 64));
  });

  test('reads format 1.3 (SHA-1, BmapFileSHA1) and 1.2 (no checksums)', () => {
    const v13 = parseBmap(Buffer.from(toVersion1(text, image, 3)), 'a.bmap');
    assert.equal(v13.checksumType, 'sha1');
    assert.ok(v13.ranges.every((r) => r.checksum?.length === 40));
    const v12 = parseBmap(Buffer.from(toVersion1(text, image, 2)), 'a.bmap');
    assert.ok(v12.ranges.every((r) => r.checksum === undefined));
    assert.equal(v12.mappedBytes, v13.mappedBytes);
  });

  test('refuses a damaged map with the reason', () => {
    invalid(text.slice(0, text.length - 40), /bad XML|never closed/);
    invalid(text.replace('<BlockMap>', '<BlockMap><Range> 9 </Range>'), /own sha256/);
    invalid(reseal(text.replace(/<Range chksum="([0-9a-f]+)">\s*256\s*</, '<Range chksum="$1"> 400 <')), /past the image's last block/);
    invalid(reseal(text.replace(/<ImageSize>\s*\d+/, '<ImageSize> 999999999')), /do not make an image/);
    invalid(reseal(text.replace(/<MappedBlocksCount>\s*\d+/, '<MappedBlocksCount> 3')), /MappedBlocksCount/);
    invalid(reseal(text.replace(/(<Range[^>]*>)\s*25-32/, '$1 0-32')), /overlaps/);
    // Not damaged but newer: said so, and the advice is to update or go without it (--no-bmap).
    invalid(reseal(text.replace('version="2.0"', 'version="3.0"')), /^\/x\/a\.bmap is in block map format 3\.0, newer than this Blockwise reads \(1\.x and 2\.x\)\.$/);
    const newer = (() => {
      try {
        parseBmap(Buffer.from(reseal(text.replace('version="2.0"', 'version="3.0"'))), '/x/a.bmap');
      } catch (error) {
        return error as BlockwiseError;
      }
      return undefined;
    })();
    assert.equal(newer?.details.newer, true);
    assert.match(describeError(newer!.toJSON()), /Update Blockwise, or move the \.bmap file away/);
    invalid(reseal(text.replace(/<ChecksumType>\s*sha256/, '<ChecksumType> md5')), /md5/);
    invalid(reseal(text.replace(/<BlockSize>\s*4096/, '<BlockSize> x')), /not a whole number/);
    invalid(reseal(text.replace(/chksum="[0-9a-f]{10}/, 'chksum="zz')), /malformed sha256/);
    invalid('<notbmap version="2.0"></notbmap>', /root element/);
  });

  test('the XML reader rejects what it does not understand', () => {
    assert.throws(() => parseXml('<a><b></a></b>'), /does not match/);
    assert.throws(() => parseXml('<a x="1" x="2"/>'), /twice/);
    assert.throws(() => parseXml('<!DOCTYPE a><a/>'), /DOCTYPE/);
    assert.equal(parseXml('<a t="&lt;&#65;">x &amp; y</a>').text, 'x & y');
    assert.equal(parseXml('<a t="&lt;&#65;">x</a>').attributes.t, '<A');
  });

  test('looks for the map beside the image the way bmaptool does', () => {
    assert.deepEqual(bmapCandidates('/d/foo.img.xz'), ['/d/foo.img.xz.bmap', '/d/foo.img.bmap', '/d/foo.bmap']);
    assert.deepEqual(bmapCandidates('/d/.hidden'), ['/d/.hidden.bmap']);
  });
});
