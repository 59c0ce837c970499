// zip: a file's central directory picks the image entry and gives its sizes; the entry is then
// streamed from its local header through zlib's inflateRaw (or passed through when stored).
// Over a pure stream there is no directory: the first entry that looks like an image is written,
// and the entries after it are still read, as a tar's are: a second image there fails the flash
// rather than pass a guess. An image entry whose sizes are only in a trailing data descriptor is
// inflated to the end of its deflate data and checked against that descriptor; other such entries
// cannot be skipped.

import * as zlib from 'node:zlib';
import { BlockwiseError } from '../../../shared/errors';
import type { SourceSpec } from '../../../shared/flash-types';
import { ByteQueue } from './byte-queue';
import { fileChunks } from './decoded-file';
import { openDecodedStream, streamDecoderFor, type StreamDecoder, type StreamMeta } from './decoded-source';
import { endingTransform, throughTransform } from './gzip-source';
import type { SourceFormat, SourceReader } from './source';
import { chooseZipEntry, looksLikeImageEntry, readZipDirectory, type ZipEntry } from './zip-directory';

/** Central-directory facts of the entry to decode, passed from the file opener to the decoder. */
const knownEntries = new WeakMap<StreamMeta, ZipEntry>();

function crcOf(data: Buffer, previous: number): number {
  const z = zlib as typeof zlib & { crc32?: (data: Uint8Array, value?: number) => number };
  // An empty chunk over a zero-length ArrayBuffer (the WASM xz decoder's last one) has no data
  // pointer, and zlib's crc32 then returns its initial value, 0, dropping everything summed so far.
  if (data.length === 0) return previous;
  return z.crc32 ? z.crc32(data, previous) : previous;
}

/** The CRC-32 and length of an entry's decoded bytes, as they are handed on (counted). */
interface Tally {
  crc: number;
  size: number;
}

async function* counted(data: AsyncIterable<Buffer>, tally: Tally): AsyncIterable<Buffer> {
  for await (const chunk of data) {
    tally.crc = crcOf(chunk, tally.crc);
    tally.size += chunk.length;
    yield chunk;
  }
}

/** Without zlib.crc32 (Node before 20.15) the CRC cannot be checked; the sizes still are. */
function checkCrc(name: string, tally: Tally, expected: number): void {
  if ('crc32' in zlib && tally.crc !== expected) throw new BlockwiseError('SOURCE_CORRUPT', `the entry ${name} fails its CRC32 check`);
}

/** Counts the bytes handed on, into `seen.bytes`. */
async function* measured(data: AsyncIterable<Buffer>, seen: { bytes: number }): AsyncIterable<Buffer> {
  for await (const chunk of data) {
    seen.bytes += chunk.length;
    yield chunk;
  }
}

/**
 * An entry's decoded bytes, checked against its size and CRC-32. `raw`: its compressed bytes as
 * read, and how many it has. Fewer decoded bytes once all of them were read is damage, not a
 * file cut short: a bit flipped in deflate data was "The download was probably incomplete".
 */
async function* checked(
  data: AsyncIterable<Buffer>,
  entry: { name: string; crc32: number; size?: number },
  raw?: { seen: { bytes: number }; expected: number },
): AsyncIterable<Buffer> {
  const tally: Tally = { crc: 0, size: 0 };
  yield* counted(data, tally);
  if (entry.size !== undefined && tally.size !== entry.size) {
    if (raw && raw.seen.bytes >= raw.expected) {
      throw new BlockwiseError('SOURCE_CORRUPT', `the entry ${entry.name} is damaged: its compressed data, all of it there, decodes to ${tally.size} bytes, not its ${entry.size}`);
    }
    throw new BlockwiseError('SOURCE_TRUNCATED', `the entry ${entry.name} ends after ${tally.size} of its ${entry.size} bytes`);
  }
  checkCrc(entry.name, tally, entry.crc32);
}

/** Zip compression methods by number (APPNOTE 4.4.5), for refusals that name them. */
const METHOD_NAMES: Record<number, string> = { 9: 'Deflate64', 14: 'LZMA', 98: 'PPMd', 99: 'AES encryption', 6: 'Implode', 1: 'Shrink' };
/** Methods whose data is a whole stream of a format this build decodes anyway. */
const METHOD_FORMATS: Record<number, SourceFormat> = { 12: 'bzip2', 93: 'zstd', 95: 'xz' };

/** Signatures that may follow the last entry: the central directory, its zip64 end records, its end. */
const CLOSING = new Set([0x02014b50, 0x06064b50, 0x07064b50, 0x06054b50, 0x05054b50]);

/**
 * A deflated entry whose sizes and CRC-32 come after its data (streaming zip writers): inflated
 * until the deflate data ends, then checked against the data descriptor that follows it, which is
 * consumed so that the next entry's header can be read.
 */
async function* inflateToDescriptor(queue: ByteQueue, name: string): AsyncIterable<Buffer> {
  const inflate = zlib.createInflateRaw({ chunkSize: 1 << 20 });
  const run = endingTransform(queue.stream()[Symbol.asyncIterator](), inflate);
  const tally: Tally = { crc: 0, size: 0 };
  yield* counted(run.output, tally);
  queue.unshift(await run.unconsumed());
  const compressed = inflate.bytesWritten;
  const { size } = tally;
  // An optional signature, the CRC-32, then the compressed and full sizes: 4 bytes each, or 8 in zip64.
  const signature = await queue.peek(4);
  const signed = signature.length === 4 && signature.readUInt32LE(0) === 0x08074b50 ? 4 : 0;
  const fields = (await queue.peek(signed + 20)).subarray(signed);
  const width = [4, 8].find((w) => {
    if (fields.length < 4 + 2 * w) return false;
    const read = (at: number) => (w === 4 ? fields.readUInt32LE(at) : Number(fields.readBigUInt64LE(at)));
    return read(4) === (w === 4 ? compressed % 2 ** 32 : compressed) && read(4 + w) === (w === 4 ? size % 2 ** 32 : size);
  });
  if (width === undefined) {
    const cut = fields.length < 12;
    throw new BlockwiseError(
      cut ? 'SOURCE_TRUNCATED' : 'SOURCE_CORRUPT',
      cut ? `the entry ${name} ends without its data descriptor` : `the entry ${name} decodes to ${size} bytes from ${compressed}, which its data descriptor does not say`,
    );
  }
  await queue.skip(signed + 4 + 2 * width);
  checkCrc(name, tally, fields.readUInt32LE(0));
}

type EntryDecoder = (raw: AsyncIterable<Buffer>, meta: StreamMeta) => AsyncIterable<Buffer>;

/** How to decode an entry's data, or undefined when this build cannot. */
function entryDecoder(method: number): EntryDecoder | undefined {
  if (method === 0) return (raw) => raw;
  if (method === 8) return (raw) => throughTransform(raw, zlib.createInflateRaw({ chunkSize: 1 << 20 }));
  const format = METHOD_FORMATS[method];
  const decoder = format === undefined ? undefined : streamDecoderFor(format);
  return decoder && ((raw, meta) => decoder(raw, { name: meta.name }, {}));
}

function unsupportedMethod(method: number, entry: string): string {
  const what = METHOD_NAMES[method] ?? METHOD_FORMATS[method] ?? `method ${method}`;
  return `the entry ${entry} is compressed with ${what} (zip method ${method}), which Blockwise cannot decompress; extract it with 7-Zip (7z x) and open the image`;
}

/**
 * An encrypted entry, said as one. AES (WinZip's method 99, as 7-Zip makes it with -p) was said to
 * be "compressed with AES encryption" and sent to 7z without a word of the password; unzip cannot
 * open it, so it is 7-Zip there, unzip for the old ZipCrypto.
 */
function encryptedEntry(entry: string, method: number): string {
  return method === 99
    ? `the entry ${entry} is encrypted (AES); extract it with 7-Zip (7z x, which asks for the password) and open the image`
    : `the entry ${entry} is encrypted; extract it with unzip (which asks for the password) and open the image`;
}

export const zipStream: StreamDecoder = async function* (input, meta, facts) {
  const queue = ByteQueue.of(input);
  const known = knownEntries.get(meta);
  /** The image written from this stream, once it is; the entries after it are only looked at. */
  let written: string | undefined;
  try {
    for (;;) {
      const header = await queue.take(30);
      if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50) {
        // The central directory (or the end) after the image: no other image came.
        if (written !== undefined && (header.length === 0 || (header.length >= 4 && CLOSING.has(header.readUInt32LE(0))))) return;
        if (header.length >= 4 && header.readUInt32LE(0) === 0x02014b50) {
          throw meta.entry
            ? new BlockwiseError('ARCHIVE_ENTRY_NOT_FOUND', `${meta.name} has no entry named ${meta.entry}.`)
            : new BlockwiseError('ARCHIVE_NO_IMAGE', `${meta.name} holds no disk image.`);
        }
        throw new BlockwiseError(header.length < 30 ? 'SOURCE_TRUNCATED' : 'SOURCE_CORRUPT', `${meta.name}: a zip entry header is missing or damaged`);
      }
      const flags = header.readUInt16LE(6);
      const method = header.readUInt16LE(8);
      const nameAndExtra = await queue.take(header.readUInt16LE(26) + header.readUInt16LE(28));
      const name = nameAndExtra.toString('utf8', 0, header.readUInt16LE(26));
      let compressedSize: number | undefined = header.readUInt32LE(18);
      let size: number | undefined = header.readUInt32LE(22);
      const crc32 = header.readUInt32LE(14);
      const extra = nameAndExtra.subarray(header.readUInt16LE(26));
      for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
        if (extra.readUInt16LE(at) === 0x0001 && extra.readUInt16LE(at + 2) >= 16) {
          size = Number(extra.readBigUInt64LE(at + 4));
          compressedSize = Number(extra.readBigUInt64LE(at + 12));
        }
      }
      const sizesDeferred = (flags & 0x08) !== 0;
      if (sizesDeferred) compressedSize = size = undefined;
      const entry = known && known.name === name ? known : undefined;
      if (entry) ({ compressedSize, size } = entry);
      const wanted = meta.entry !== undefined ? name === meta.entry : looksLikeImageEntry(name);
      if (wanted && written === name) {
        throw new BlockwiseError(
          'SOURCE_UNSUPPORTED',
          `${meta.name} holds ${name} more than once: extracting it keeps the last, but the first was written as the stream went past. Save the file and open it: then the last is written`,
        );
      }
      if (wanted && written !== undefined) {
        throw new BlockwiseError('ARCHIVE_AMBIGUOUS', `${meta.name} holds several images: ${written}, ${name}`, { entries: `${written}\n${name}` });
      }
      if (!wanted) {
        // An entry after the image that cannot be skipped: nothing more can be learnt from the stream.
        if (compressedSize === undefined && written !== undefined) return;
        if (compressedSize === undefined) {
          throw new BlockwiseError('SOURCE_UNSUPPORTED', `${meta.name} cannot be read as a stream: ${name} comes first and does not record its size. Save the file and open it.`);
        }
        await queue.skip(compressedSize);
        continue;
      }
      if (flags & 0x01) throw new BlockwiseError('SOURCE_UNSUPPORTED', encryptedEntry(name, method));
      const decoder = entryDecoder(method);
      if (!decoder) throw new BlockwiseError('SOURCE_UNSUPPORTED', unsupportedMethod(method, name));
      // Only deflate marks its own end; anything else needs the size the descriptor gives too late.
      if (method !== 8 && compressedSize === undefined) {
        throw new BlockwiseError('SOURCE_UNSUPPORTED', `${meta.name} cannot be read as a stream: ${name} is stored without its size. Save the file and open it.`);
      }
      facts.entry = name;
      if (size !== undefined) facts.size = size;
      if (sizesDeferred && !entry) {
        yield* inflateToDescriptor(queue, name); // sizes and CRC are in the descriptor, after the data
      } else {
        const check: { name: string; crc32: number; size?: number } = { name, crc32: entry?.crc32 ?? crc32 };
        if (size !== undefined) check.size = size;
        const seen = { bytes: 0 };
        const raw = compressedSize === undefined ? undefined : { seen, expected: compressedSize };
        yield* checked(decoder(measured(queue.stream(compressedSize), seen), meta), check, raw);
      }
      // The entry picked from the directory is the answer: no need to read on. One named for a
      // stream may yet have a newer version after it.
      if (meta.entryIsFinal) return;
      written = name;
    }
  } finally {
    await queue.close();
  }
};

export async function openZipFile(filePath: string, storedSize: number, spec: SourceSpec): Promise<SourceReader> {
  const name = filePath.split(/[\\/]/).pop() ?? filePath;
  const entries = await readZipDirectory(filePath, storedSize, name);
  const entry = chooseZipEntry(entries, name, spec.entry);
  // Refused here, from the directory, before any data is read (and with no offset that means nothing).
  if (entry.flags & 0x01) throw new BlockwiseError('SOURCE_UNSUPPORTED', `${name}: ${encryptedEntry(entry.name, entry.method)}.`, { path: filePath });
  if (!entryDecoder(entry.method)) throw new BlockwiseError('SOURCE_UNSUPPORTED', `${name}: ${unsupportedMethod(entry.method, entry.name)}.`, { path: filePath });
  const meta: StreamMeta = { name, storedSize, path: filePath, storedFile: filePath, entry: entry.name, entryIsFinal: true, size: entry.size };
  knownEntries.set(meta, entry);
  return openDecodedStream(fileChunks(filePath, entry.localHeaderOffset), meta);
}
