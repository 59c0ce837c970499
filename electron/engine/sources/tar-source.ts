// tar (.tar, and .tar.gz/.tar.xz/… through the decoders before it): vendors ship one disk image
// inside a tarball. A tar file at rest is scanned header by header (seeking over data) so the image
// is chosen like a zip's: one candidate is used, several need a choice, none is refused; of
// entries sharing a name (tar -r/-u appends newer versions) the last counts, as when extracted.
// Over a stream (a compressed tar, a download) the first image-named entry is written, and the
// entries after it are still read: a second image there, or a newer version of the one written,
// fails the flash rather than pass a guess or a stale image.

import { promises as fsp } from 'node:fs';
import { BlockwiseError } from '../../../shared/errors';
import type { SourceSpec } from '../../../shared/flash-types';
import { ByteQueue } from './byte-queue';
import { fileChunks } from './decoded-file';
import { openDecodedStream, type StreamDecoder, type StreamMeta } from './decoded-source';
import type { SourceReader } from './source';
import { BLOCK, isZeroBlock, padded, parseTarHeader, TarEntryReader, type TarEntry } from './tar-header';
import { chooseZipEntry, looksLikeImageEntry } from './zip-directory';

function listed(names: string[]): string {
  return names.length === 0 ? 'nothing' : names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length} in all)` : '');
}

async function* entryData(queue: ByteQueue, entry: TarEntry): AsyncIterable<Buffer> {
  let got = 0;
  for await (const piece of queue.stream(entry.size)) {
    got += piece.length;
    yield piece;
  }
  if (got < entry.size) {
    throw new BlockwiseError('SOURCE_TRUNCATED', `the tar entry ${entry.name} ends after ${got} of its ${entry.size} bytes`, {
      offset: entry.dataOffset + got,
    });
  }
  await queue.skip(padded(entry.size) - entry.size);
}

/** A second entry of the name already written: the newer version, which extraction would leave. */
function laterVersion(archive: string, name: string, offset: number): BlockwiseError {
  // An address's file name, as saved: tar takes no URL.
  const file = archive.replace(/[?#].*$/, '').replace(/^.*[\\/]/, '');
  return new BlockwiseError(
    'SOURCE_UNSUPPORTED',
    `it holds ${name} more than once (a tar updated with tar -r or -u): extracting it keeps the last, but the first was written as the archive streamed past. Extract it (tar -xf "${file}" "${name}") and open the image that gives`,
    { offset },
  );
}

export const tarStream: StreamDecoder = async function* (input, meta, facts) {
  const queue = ByteQueue.of(input);
  const entries = new TarEntryReader();
  const files: string[] = [];
  let written: string | undefined;
  let offset = 0;
  try {
    for (;;) {
      const block = await queue.take(BLOCK);
      // End of archive: two zero blocks (one is enough to stop; some writers omit the second).
      if (block.length === 0 || isZeroBlock(block)) break;
      if (block.length < BLOCK) {
        throw new BlockwiseError('SOURCE_TRUNCATED', `the tar archive ends inside the header at byte ${offset}`, { offset });
      }
      const header = parseTarHeader(block, offset);
      const data = TarEntryReader.needsData(header) ? await queue.take(padded(header.size)) : undefined;
      const entry = entries.accept(header, offset, data?.subarray(0, header.size));
      if (entry === 'meta' || entry === 'other') {
        if (!data) await queue.skip(padded(header.size));
        offset += BLOCK + padded(header.size);
        continue;
      }
      files.push(entry.name);
      const wanted = meta.entry !== undefined ? entry.name === meta.entry : looksLikeImageEntry(entry.name);
      if (wanted && written === entry.name) throw laterVersion(meta.name, entry.name, offset);
      if (wanted && written !== undefined) {
        throw new BlockwiseError('ARCHIVE_AMBIGUOUS', `it holds several images: ${written}, ${entry.name}`, {
          entries: `${written}\n${entry.name}`,
          offset,
        });
      }
      if (wanted) {
        written = entry.name;
        facts.entry = entry.name;
        facts.size = entry.size;
        yield* entryData(queue, entry);
        // The entry chosen from the whole listing is the answer: no need to read on.
        if (meta.entryIsFinal) return;
      } else {
        await queue.skip(padded(entry.size));
      }
      offset = entry.dataOffset + padded(entry.size);
    }
    if (written === undefined) {
      if (meta.entry !== undefined) {
        throw new BlockwiseError('ARCHIVE_ENTRY_NOT_FOUND', `it has no entry named ${meta.entry} (it contains: ${listed(files)})`, { entries: files.join('\n') });
      }
      throw new BlockwiseError('ARCHIVE_NO_IMAGE', `it holds no disk image (it contains: ${listed(files)})`, { entries: files.join('\n') });
    }
    // What follows the end-of-archive blocks (a record's zero padding, more) is read to its end, so
    // that the compression around the tar finishes and checks its CRC: stopping at the end marker,
    // a .tar.gz whose deflate data decoded silently wrong was written and "verified".
    for await (const rest of queue.stream()) void rest;
  } finally {
    await queue.close();
  }
};

/** Every regular file of a tar at rest, found by reading headers only. */
export async function scanTarFile(filePath: string, storedSize: number, where: string): Promise<TarEntry[]> {
  const handle = await fsp.open(filePath, 'r');
  const out: TarEntry[] = [];
  try {
    const entries = new TarEntryReader();
    const block = Buffer.alloc(BLOCK);
    for (let offset = 0; offset < storedSize; ) {
      const { bytesRead } = await handle.read(block, 0, BLOCK, offset);
      if (bytesRead === 0 || isZeroBlock(block)) break;
      if (bytesRead < BLOCK) {
        throw new BlockwiseError('SOURCE_TRUNCATED', `the tar archive ends inside the header at byte ${offset}`, { offset });
      }
      const header = parseTarHeader(block, offset);
      let data: Buffer | undefined;
      if (TarEntryReader.needsData(header)) {
        data = Buffer.alloc(header.size);
        await handle.read(data, 0, header.size, offset + BLOCK);
      }
      const entry = entries.accept(header, offset, data);
      if (typeof entry === 'object') {
        if (entry.dataOffset + entry.size > storedSize) {
          throw new BlockwiseError('SOURCE_TRUNCATED', `the tar entry ${entry.name} needs the file to reach byte ${entry.dataOffset + entry.size}, but it ends at byte ${storedSize}`, {
            offset: storedSize,
          });
        }
        out.push(entry);
      }
      // A file's data is its pax size long: for 8 GiB and more, GNU tar and Python leave the ustar
      // field 0 and record the size only in the pax header (the stream decoder skips the same way).
      offset += BLOCK + padded(typeof entry === 'object' ? entry.size : header.size);
    }
  } catch (error) {
    if (error instanceof BlockwiseError) throw new BlockwiseError(error.code, `${where}: ${error.message}.`, { ...error.details, path: filePath });
    throw error;
  } finally {
    await handle.close();
  }
  return out;
}

export async function openTarFile(filePath: string, storedSize: number, spec: SourceSpec): Promise<SourceReader> {
  const name = filePath.split(/[\\/]/).pop() ?? filePath;
  const entries = await scanTarFile(filePath, storedSize, name);
  const chosen = chooseZipEntry(entries, name, spec.entry);
  const meta: StreamMeta = { name, storedSize, path: filePath, storedFile: filePath, entry: chosen.name, entryIsFinal: true, size: chosen.size };
  // From the entry's first header: the stream decoder parses it (and its long name) itself.
  return openDecodedStream(fileChunks(filePath, chosen.headerOffset), meta);
}
