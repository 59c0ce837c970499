// bmaptool's block map (.bmap): which blocks of an image hold data, with a checksum per range.
// Versions 1.0–1.3 (SHA-1 per range, `sha1` attribute, `BmapFileSHA1` from 1.3), 1.4 and 2.0
// (`ChecksumType`, `chksum` attribute, `BmapFileChecksum`). Every inconsistency is BMAP_INVALID:
// a map we do not fully trust must never make us skip data, and never silently fall back to a
// full write either — the user chose the map, so they hear about it.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { BlockwiseError } from '../../../shared/errors';
import { parseXml, XmlSyntaxError, type XmlElement } from './tiny-xml';

export type BmapChecksumType = 'sha1' | 'sha256';

export interface BmapRange {
  /** Byte offsets in the image; `end` is exclusive and clipped to the image size. */
  start: number;
  end: number;
  /** Hex digest of the range's bytes, when the file has per-range checksums. */
  checksum?: string;
  /** Block numbers as written in the file, for messages. */
  firstBlock: number;
  lastBlock: number;
}

export interface Bmap {
  path: string;
  version: string;
  imageSize: number;
  blockSize: number;
  blocksCount: number;
  mappedBlocksCount: number;
  checksumType?: BmapChecksumType;
  ranges: BmapRange[];
  /** Sum of the ranges' byte lengths. */
  mappedBytes: number;
}

const HEX_LENGTH: Record<BmapChecksumType, number> = { sha1: 40, sha256: 64 };
/** The same limit bmaptool has: a major version we do not know may mean anything. */
const MAX_MAJOR = 2;

function invalid(bmapPath: string, why: string): BlockwiseError {
  return new BlockwiseError('BMAP_INVALID', `${bmapPath} is not a valid block map: ${why}.`, { path: bmapPath });
}

function child(root: XmlElement, name: string): XmlElement | undefined {
  const found = root.children.filter((c) => c.name === name);
  return found[0];
}

function integerOf(root: XmlElement, name: string, bmapPath: string): number {
  const element = child(root, name);
  if (!element) throw invalid(bmapPath, `<${name}> is missing`);
  const text = element.text.trim();
  if (!/^\d+$/.test(text)) throw invalid(bmapPath, `<${name}> is "${text}", not a whole number`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw invalid(bmapPath, `<${name}> ${text} is too large`);
  return value;
}

function checksumType(root: XmlElement, major: number, minor: number, bmapPath: string): { type?: BmapChecksumType; attribute: string; selfTag?: string } {
  if (major >= 2 || (major === 1 && minor >= 4)) {
    // 1.4 was 2.0 under a wrong number; both name the checksum type. Absent means SHA-1, as in 1.x.
    const element = child(root, 'ChecksumType');
    const name = element ? element.text.trim().toLowerCase() : 'sha1';
    if (name !== 'sha1' && name !== 'sha256') throw invalid(bmapPath, `checksum type "${name}" is not supported (only sha1 and sha256)`);
    return { type: name, attribute: 'chksum', selfTag: 'BmapFileChecksum' };
  }
  return { type: 'sha1', attribute: 'sha1', selfTag: minor >= 3 ? 'BmapFileSHA1' : undefined };
}

/** The file's own checksum is taken with its value replaced by ASCII zeros. */
function checkSelfChecksum(bytes: Buffer, root: XmlElement, tag: string, type: BmapChecksumType, bmapPath: string): void {
  const element = child(root, tag);
  if (!element) return;
  const expected = element.text.trim().toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${HEX_LENGTH[type]}}$`).test(expected)) throw invalid(bmapPath, `<${tag}> is not a ${type} digest`);
  const at = bytes.indexOf(element.text.trim(), 0, 'latin1');
  const zeroed = Buffer.from(bytes);
  zeroed.fill(0x30, at, at + expected.length);
  const actual = createHash(type).update(zeroed).digest('hex');
  if (actual !== expected) throw invalid(bmapPath, `its own ${type} is ${actual}, but it says ${expected} — the file was changed or damaged`);
}

export function parseBmap(bytes: Buffer, bmapPath: string): Bmap {
  let root: XmlElement;
  try {
    root = parseXml(bytes.toString('utf8'));
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw invalid(bmapPath, `bad XML at character ${error.position}: ${error.message}`);
    throw error;
  }
  if (root.name !== 'bmap') throw invalid(bmapPath, `the root element is <${root.name}>, not <bmap>`);
  const version = (root.attributes.version ?? '').trim();
  const v = /^(\d+)\.(\d+)$/.exec(version);
  if (!v) throw invalid(bmapPath, `version "${version}" is not "major.minor"`);
  const major = Number(v[1]);
  const minor = Number(v[2]);
  if (major > MAX_MAJOR) {
    // Not damaged: written by a newer bmaptool than this Blockwise reads.
    throw new BlockwiseError('BMAP_INVALID', `${bmapPath} is in block map format ${version}, newer than this Blockwise reads (1.x and 2.x).`, { path: bmapPath, newer: true });
  }
  if (major < 1) throw invalid(bmapPath, `format version ${version} is not supported (1.x and 2.x are)`);

  const imageSize = integerOf(root, 'ImageSize', bmapPath);
  const blockSize = integerOf(root, 'BlockSize', bmapPath);
  const blocksCount = integerOf(root, 'BlocksCount', bmapPath);
  const mappedBlocksCount = integerOf(root, 'MappedBlocksCount', bmapPath);
  if (blockSize === 0) throw invalid(bmapPath, 'the block size is 0');
  if (blocksCount !== Math.ceil(imageSize / blockSize)) {
    throw invalid(bmapPath, `${blocksCount} blocks of ${blockSize} bytes do not make an image of ${imageSize} bytes`);
  }
  const { type, attribute, selfTag } = checksumType(root, major, minor, bmapPath);
  if (selfTag && type) checkSelfChecksum(bytes, root, selfTag, type, bmapPath);

  const blockMap = child(root, 'BlockMap');
  if (!blockMap) throw invalid(bmapPath, '<BlockMap> is missing');
  const ranges: BmapRange[] = [];
  let counted = 0;
  let mappedBytes = 0;
  for (const element of blockMap.children) {
    if (element.name !== 'Range') throw invalid(bmapPath, `<BlockMap> holds a <${element.name}>, not only <Range>s`);
    const text = element.text.trim();
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(text);
    if (!m) throw invalid(bmapPath, `range "${text}" is not "first-last" block numbers`);
    const firstBlock = Number(m[1]);
    const lastBlock = m[2] === undefined ? firstBlock : Number(m[2]);
    if (lastBlock < firstBlock) throw invalid(bmapPath, `range ${text} ends before it starts`);
    if (lastBlock >= blocksCount) throw invalid(bmapPath, `range ${text} reaches past the image's last block (${blocksCount - 1})`);
    const previous = ranges[ranges.length - 1];
    if (previous && firstBlock <= previous.lastBlock) throw invalid(bmapPath, `range ${text} overlaps or precedes range ${previous.firstBlock}-${previous.lastBlock}`);
    const range: BmapRange = { start: firstBlock * blockSize, end: Math.min((lastBlock + 1) * blockSize, imageSize), firstBlock, lastBlock };
    const digest = element.attributes[attribute] ?? (major === 1 ? element.attributes.sha1 : undefined);
    if (digest !== undefined && type) {
      const hex = digest.trim().toLowerCase();
      if (!new RegExp(`^[0-9a-f]{${HEX_LENGTH[type]}}$`).test(hex)) throw invalid(bmapPath, `range ${text} has a malformed ${type} checksum "${digest}"`);
      range.checksum = hex;
    }
    ranges.push(range);
    counted += lastBlock - firstBlock + 1;
    mappedBytes += range.end - range.start;
  }
  if (counted !== mappedBlocksCount) throw invalid(bmapPath, `its ranges hold ${counted} blocks, but <MappedBlocksCount> says ${mappedBlocksCount}`);
  const bmap: Bmap = { path: bmapPath, version, imageSize, blockSize, blocksCount, mappedBlocksCount, ranges, mappedBytes };
  if (type) bmap.checksumType = type;
  return bmap;
}

/** Reads and validates a .bmap file. A file that cannot be read is BMAP_INVALID too: it was asked for. */
export async function readBmap(bmapPath: string): Promise<Bmap> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(bmapPath);
  } catch (error) {
    throw new BlockwiseError('BMAP_INVALID', `Cannot read the block map ${bmapPath}: ${(error as Error).message}.`, {
      path: bmapPath,
      syscode: (error as NodeJS.ErrnoException).code,
    });
  }
  return parseBmap(bytes, bmapPath);
}
