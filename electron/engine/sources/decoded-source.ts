// A reader of the decompressed image fed by any stream of stored bytes (a file, an HTTP body).
// The format is decided by content, decoders are chained (zip holding .img.xz), and the whole
// chain is pull-driven: the writer asking for its next buffer is what makes bytes flow, so a
// slow drive slows the decoder and memory stays flat.

import { createHash, type Hash } from 'node:crypto';
import { BlockwiseError } from '../../../shared/errors';
import { advised, detectFormat, misnamedRawReason, unsupportedMessage } from './detect';
import { notAnArchive } from './open-source';
import type { SourceFormat, SourceInfo, SourceReader } from './source';

export interface StreamMeta {
  /** What a person calls the source: file name or URL. */
  name: string;
  storedSize?: number;
  /** Image to pick inside an archive. */
  entry?: string;
  /**
   * `entry` was chosen from the archive's whole listing (the last of its name): nothing after it in
   * the stream can replace it, so the stream ends with it. Otherwise (a name given for a stream)
   * the rest is read, as a later entry of the same name would be what extraction leaves.
   */
  entryIsFinal?: boolean;
  /** Path of the file, for error details. */
  path?: string;
  /** Uncompressed size already known (e.g. from a file's xz index or zip directory). */
  size?: number;
  /**
   * The stored bytes come from this local file, whose SHA-256 is taken from the file itself
   * (SourceReader.storedFile): the stream is then counted, not hashed.
   */
  storedFile?: string;
  /**
   * The outermost format, where the caller has already told it from the file's start: the
   * decoder then starts (a tool is spawned) without waiting for the stream's first bytes.
   */
  format?: SourceFormat;
}

/** What a stream decoder learned about its contents while starting up. */
export interface DecoderFacts {
  /** Name of the entry inside an archive. */
  entry?: string;
  /** Size of the decoded bytes, when the container says so up front. */
  size?: number;
}

/** Turns stored bytes into decoded bytes. `facts` may be filled before the first chunk is yielded. */
export type StreamDecoder = (input: AsyncIterable<Buffer>, meta: StreamMeta, facts: DecoderFacts) => AsyncIterable<Buffer>;

/** How far a decoder that reads the stored file itself has got. */
export interface ReadElsewhere {
  position(): number;
  /** It has read the whole file. */
  ended(): boolean;
}

/**
 * A decoder's input that is a local file from its first byte, not yet read: a decoder that can
 * read the file itself (a tool given it as stdin) may do so instead of iterating the input, and
 * then tells how far it has read.
 */
export interface FileInput {
  readonly path: string;
  readInstead(progress: ReadElsewhere): void;
}

export function fileInputOf(input: AsyncIterable<Buffer>): FileInput | undefined {
  return (input as { fileInput?: FileInput }).fileInput;
}

const streamDecoders = new Map<SourceFormat, StreamDecoder>();

export function registerStreamDecoder(format: SourceFormat, decoder: StreamDecoder): void {
  streamDecoders.set(format, decoder);
}

/** The decoder registered for `format` (an archive whose entries use it: a zip's bzip2 method). */
export function streamDecoderFor(format: SourceFormat): StreamDecoder | undefined {
  return streamDecoders.get(format);
}

const HEAD_BYTES = 65536;
/** Formats nested deeper than this are refused: a zip bomb of zips is not an image. */
const MAX_DEPTH = 3;

/** Pulls from an iterator while remembering the first bytes, so detection needs no second pass. */
class Peekable implements AsyncIterable<Buffer> {
  private readonly pending: Buffer[] = [];
  private done = false;
  /** Set while it is a whole local file nothing has read from (fileInputOf). */
  fileInput?: FileInput;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  static of(input: AsyncIterable<Buffer>): Peekable {
    return new Peekable(input[Symbol.asyncIterator]());
  }

  /** At least `bytes` of the stream's start (less only when the stream is shorter). */
  async head(bytes: number): Promise<Buffer> {
    let have = this.pending.reduce((n, b) => n + b.length, 0);
    while (have < bytes && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.pending.push(next.value);
        have += next.value.length;
      }
    }
    // Only the bytes asked for are copied: concatenating a whole pending MiB (a file chunk, a
    // decoded chunk) took 3–5 ms here, three times per image opened.
    return Buffer.concat(this.pending, Math.min(have, bytes));
  }

  /** Ends the source too when iteration never started (a reader opened, peeked at and closed). */
  async close(): Promise<void> {
    this.done = true;
    await this.source.return?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    try {
      while (this.pending.length > 0) yield this.pending.shift()!;
      if (this.done) return;
      for (;;) {
        const next = await this.source.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await this.source.return?.();
    }
  }
}

/**
 * Counts and hashes the stored bytes as the first decoder consumes them. A decoder may stop
 * before the stream does (a zip's central directory, a tar's later members): its stopping does not
 * end the stream, so `drainRest` can hash (and a download cache keep) the stored file whole.
 */
class StoredTap {
  private counted = 0;
  private finished = false;
  private elsewhere: ReadElsewhere | undefined;
  private readonly hash: Hash | undefined;
  private digest: string | undefined;
  private iterator: AsyncIterator<Buffer> | undefined;

  constructor(hashing: boolean) {
    if (hashing) this.hash = createHash('sha256');
  }

  get hashing(): boolean {
    return this.hash !== undefined;
  }

  /** Stored bytes consumed so far. */
  get position(): number {
    return this.elsewhere ? this.elsewhere.position() : this.counted;
  }

  /** The whole input has been consumed. */
  get ended(): boolean {
    return this.elsewhere ? this.elsewhere.ended() : this.finished;
  }

  /** The decoder reads the file itself (FileInput): it says how far it got. Never hashed (a local file). */
  readElsewhere(progress: ReadElsewhere): void {
    this.elsewhere = progress;
  }

  private take(next: IteratorResult<Buffer>): IteratorResult<Buffer> {
    if (next.done) {
      if (!this.finished) this.digest = this.hash?.digest('hex');
      this.finished = true;
    } else {
      this.counted += next.value.length;
      this.hash?.update(next.value);
    }
    return next;
  }

  wrap(input: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    const iterator = input[Symbol.asyncIterator]();
    this.iterator = iterator;
    const done: IteratorResult<Buffer> = { done: true, value: undefined };
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => (this.finished ? done : this.take(await iterator.next())),
        // A decoder that is done with its input: the stream stays open for drainRest or close.
        return: async () => done,
      }),
    };
  }

  /** After the image: reads (and hashes) what the decoders left of a stream being hashed. */
  async drainRest(): Promise<void> {
    if (!this.hash || !this.iterator) return;
    while (!this.finished) this.take(await this.iterator.next());
  }

  /** Ends the stored stream (closes the file, cancels the download). */
  async close(): Promise<void> {
    const iterator = this.iterator;
    this.iterator = undefined;
    if (iterator && !this.finished) await iterator.return?.();
  }

  sha256(): string | undefined {
    return this.digest;
  }
}

function mapDecodeError(error: unknown, meta: StreamMeta, tap: StoredTap, imageOffset: number): BlockwiseError {
  // A broken download already names its address and the byte it broke at: said once, not wrapped.
  if (error instanceof BlockwiseError && error.code === 'DOWNLOAD_FAILED') return new BlockwiseError(error.code, error.message, { ...error.details, imageOffset });
  return decodeFailure(error, meta, tap.position, tap.ended, imageOffset);
}

/**
 * A decoder's failure as the error a person reads: SOURCE_TRUNCATED when the data ran out
 * (`inputEnded`: every stored byte had been given to the decoder), else SOURCE_CORRUPT, with the
 * stored and image offsets reached.
 */
export function decodeFailure(error: unknown, meta: StreamMeta, storedOffset: number, inputEnded: boolean, imageOffset: number): BlockwiseError {
  const where = { path: meta.path ?? meta.name, offset: storedOffset, imageOffset };
  const at = `at byte ${storedOffset} of the file, ${imageOffset} image bytes decoded`;
  if (error instanceof BlockwiseError) {
    // Decoders may name the archive themselves and end with a period; say each once.
    const said = error.message.replace(/\.$/, '');
    const named = said.startsWith(meta.name) ? said : `${meta.name}: ${said}`;
    // What an archive holds, or a feature it uses (an encrypted entry), is no place in its bytes:
    // the offset reached stays in the details, not the words (it is how far reading had got).
    const unplaced: readonly string[] = ['ARCHIVE_AMBIGUOUS', 'ARCHIVE_NO_IMAGE', 'ARCHIVE_ENTRY_NOT_FOUND', 'SOURCE_UNSUPPORTED'];
    // A decoder that names the file's byte itself (details.placed) has said where; the reading
    // position, often megabytes further on, would only blur it.
    const { placed, ...details } = error.details;
    const place = unplaced.includes(error.code) || placed === true ? '' : ` (${at})`;
    return new BlockwiseError(error.code, `${named}${place}.`, { ...where, ...details });
  }
  const raw = (error as Error)?.message ?? String(error);
  // The WASM xz decoder's words ("get_next_output failed with error code 7") mean nothing to a person.
  const code = /failed with error code (\d+)/.exec(raw)?.[1];
  const message = code === undefined ? raw : `its data does not decode (decoder error ${code})`;
  // A decoder that fails once all input is in, for a reason other than a failed check, ran out of data.
  const checkFailed = /check|crc|checksum/i.test(message);
  const ranOut = /unexpected end|truncat|ended early|premature|incomplete/i.test(message) || (inputEnded && !checkFailed);
  if (ranOut) {
    return new BlockwiseError('SOURCE_TRUNCATED', `${meta.name} ends early: the compressed data stops at byte ${storedOffset} (${imageOffset} image bytes decoded).`, where);
  }
  return new BlockwiseError('SOURCE_CORRUPT', `${meta.name} is damaged (${at}): ${message}.`, where);
}

/** What `classifyHead` calls the inside of a compressed file that is no archive. */
export const DECOMPRESSED = 'the decompressed data';

/**
 * Refuses what is not an image; returns the format to decode (or 'raw'). `ownName`: the name these
 * very bytes go by (the address, an archive's entry), whose suffix promises a format; not the name
 * of a file they were decompressed from.
 */
export function classifyHead(head: Buffer, meta: StreamMeta, inside?: string, ownName?: string): SourceFormat {
  const detected = detectFormat(head, head.length === 0 ? 0 : meta.storedSize);
  // An entry's name is said as it is spelt (notes.txt, not Notes.txt); only the phrase starts a sentence.
  const opening = inside === DECOMPRESSED ? `${inside.charAt(0).toUpperCase()}${inside.slice(1)}` : inside;
  const what = inside ? `${opening} inside ${meta.name}` : meta.name;
  const details = { path: meta.path ?? meta.name, offset: 0 };
  switch (detected.kind) {
    case 'empty':
      // A zip's folders are entries too, named with a trailing slash.
      if (inside?.endsWith('/')) throw new BlockwiseError('SOURCE_NOT_IMAGE', `${what} is a folder, not a disk image.`, details);
      throw new BlockwiseError(inside ? 'SOURCE_NOT_IMAGE' : 'SOURCE_EMPTY', inside ? `${what} is empty.` : `${what} is empty (0 bytes).`, details);
    case 'text': {
      const html = /<html|<!doctype html/i.test(head.toString('utf8', 0, 1024));
      const kind = html ? 'a web page (HTML)' : 'a text file';
      throw new BlockwiseError('SOURCE_NOT_IMAGE', `${what} is ${kind}, not a disk image.`, details);
    }
    case 'unsupported': {
      // Advice names the file the person will have: the entry, or the file minus its compression suffix.
      const fileName = inside === undefined ? meta.name : inside === DECOMPRESSED ? meta.name.replace(/\.[^./]+$/, '') : inside;
      throw new BlockwiseError('SOURCE_UNSUPPORTED', unsupportedMessage(what, fileName, detected), { ...details, ...advised(detected) });
    }
    case 'supported': {
      // A download or an archive's entry named os.img.xz that holds neither xz nor a disk.
      const named = ownName?.replace(/[?#].*$/, '').replace(/^.*[\\/]/, '');
      const rename = inside === undefined ? 'download it and rename it' : 'extract it and rename it';
      const misnamed = detected.format === 'raw' && named !== undefined ? misnamedRawReason(named, head, what, rename) : undefined;
      if (misnamed) throw new BlockwiseError('SOURCE_CORRUPT', misnamed, details);
      return detected.format;
    }
  }
}

/** The decoded image, handed out in the caller's buffers. */
class DecodedReader implements SourceReader {
  readonly storedFile?: { path: string; size: number };
  private current: Buffer | undefined;
  private offset = 0;
  private finished = false;
  private imagePosition = 0;

  constructor(
    readonly info: SourceInfo,
    private readonly chunks: AsyncIterator<Buffer>,
    private readonly tap: StoredTap,
    private readonly meta: StreamMeta,
    private readonly stream: Peekable,
  ) {
    if (meta.storedFile !== undefined && meta.storedSize !== undefined) this.storedFile = { path: meta.storedFile, size: meta.storedSize };
  }

  get storedPosition(): number {
    return this.tap.position;
  }

  storedSha256(): string | undefined {
    return this.tap.sha256();
  }

  async read(into: Buffer): Promise<number> {
    let filled = 0;
    while (filled < into.length) {
      if (!this.current || this.offset >= this.current.length) {
        if (this.finished) break;
        let next: IteratorResult<Buffer>;
        try {
          next = await this.chunks.next();
        } catch (error) {
          this.finished = true;
          throw mapDecodeError(error, this.meta, this.tap, this.imagePosition + filled);
        }
        if (next.done) {
          this.finished = true;
          try {
            await this.tap.drainRest();
          } catch (error) {
            throw mapDecodeError(error, this.meta, this.tap, this.imagePosition + filled);
          }
          break;
        }
        this.current = next.value;
        this.offset = 0;
        continue;
      }
      const n = this.current.copy(into, filled, this.offset);
      this.offset += n;
      filled += n;
    }
    this.imagePosition += filled;
    return filled;
  }

  async close(): Promise<void> {
    this.finished = true;
    await this.chunks.return?.().catch(() => undefined);
    await this.stream.close().catch(() => undefined);
    await this.tap.close().catch(() => undefined);
  }
}

/**
 * Opens a reader of the decompressed image from a stream of stored bytes. Detects the format by
 * content (raw passes through), chains nested formats, and refuses empty, text and unknown input.
 */
export async function openDecodedStream(input: AsyncIterable<Buffer>, meta: StreamMeta): Promise<SourceReader> {
  const tap = new StoredTap(meta.storedFile === undefined || meta.storedSize === undefined);
  try {
    return await openChain(tap, Peekable.of(tap.wrap(input)), meta);
  } catch (error) {
    await tap.close().catch(() => undefined);
    throw error;
  }
}

async function openChain(tap: StoredTap, first: Peekable, meta: StreamMeta): Promise<SourceReader> {
  let stream = first;
  const formats: SourceFormat[] = [];
  let size: number | undefined = meta.size;
  let entry: string | undefined;
  for (let depth = 0; ; depth++) {
    let format: SourceFormat;
    if (depth === 0 && meta.format !== undefined) {
      format = meta.format;
      const file = meta.storedFile;
      // A local file whose hash is taken from the file itself, and nothing read from it yet.
      if (file !== undefined && tap.hashing === false) stream.fileInput = { path: file, readInstead: (progress) => tap.readElsewhere(progress) };
    } else {
      let head: Buffer;
      try {
        head = await stream.head(HEAD_BYTES);
      } catch (error) {
        throw mapDecodeError(error, meta, tap, 0);
      }
      // The name these bytes carry: the address's, or the entry's right under its archive (inside
      // an entry's own compression, the bytes are the decompressed entry, not what it is named).
      const previous = formats[formats.length - 1];
      const ownName = depth === 0 ? meta.name : previous === 'zip' || previous === 'tar' ? entry : undefined;
      format = classifyHead(head, meta, depth > 0 ? (entry ?? DECOMPRESSED) : undefined, ownName);
    }
    if (format === 'raw') {
      if (formats.length === 0) formats.push('raw');
      break;
    }
    if (depth >= MAX_DEPTH) {
      throw new BlockwiseError('SOURCE_UNSUPPORTED', `${meta.name} is compressed more than ${MAX_DEPTH} times over; decompress it first.`, {
        path: meta.path ?? meta.name,
      });
    }
    const decoder = streamDecoders.get(format);
    if (!decoder) {
      throw new BlockwiseError('SOURCE_UNSUPPORTED', `${meta.name} is compressed with ${format}, which this build cannot decompress.`, {
        path: meta.path ?? meta.name,
      });
    }
    formats.push(format);
    const facts: DecoderFacts = {};
    const inner: StreamMeta = { name: meta.name };
    if (meta.path !== undefined) inner.path = meta.path;
    // The image asked for belongs to the first archive in the chain (a .tar.xz's tar, not its xz).
    if (meta.entry !== undefined && entry === undefined) inner.entry = meta.entry;
    const decoded = Peekable.of(decoder(stream, depth === 0 ? meta : inner, facts));
    // Starting the decoder lets it read headers (zip entry, zstd frame size) before we look inside.
    try {
      await decoded.head(1);
    } catch (error) {
      throw mapDecodeError(error, meta, tap, 0);
    }
    if (facts.entry !== undefined) entry = facts.entry;
    // An inner size says more than an outer one: the outer is of the compressed inner stream.
    size = facts.size ?? (depth === 0 ? meta.size : undefined);
    stream = decoded;
  }
  if (meta.entry !== undefined && entry === undefined) {
    await stream.close().catch(() => undefined);
    throw notAnArchive(meta.name, meta.entry, meta.path ?? meta.name);
  }
  const info: SourceInfo = { name: meta.name, formats, randomAccess: false };
  if (meta.storedSize !== undefined) info.storedSize = meta.storedSize;
  if (formats[0] === 'raw' && meta.storedSize !== undefined) info.size = meta.storedSize;
  else if (size !== undefined) info.size = size;
  if (entry !== undefined) info.entry = entry;
  return new DecodedReader(info, stream[Symbol.asyncIterator](), tap, meta, stream);
}
