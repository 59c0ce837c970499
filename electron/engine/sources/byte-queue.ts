// Exact-length reads over a stream of chunks, for parsing containers (xz blocks, zip headers)
// without holding more than the piece being parsed.

export class ByteQueue {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes handed out so far (the position in the stream). */
  position = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  static of(input: AsyncIterable<Buffer>): ByteQueue {
    return new ByteQueue(input[Symbol.asyncIterator]());
  }

  private async fill(bytes: number): Promise<void> {
    while (this.buffered < bytes && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
  }

  /** The next `bytes` without consuming them (fewer only at the end). */
  async peek(bytes: number): Promise<Buffer> {
    await this.fill(bytes);
    if (this.chunks.length > 1 && this.chunks[0]!.length < bytes) {
      const joined = Buffer.concat(this.chunks);
      this.chunks.length = 0;
      this.chunks.push(joined);
    }
    return (this.chunks[0] ?? Buffer.alloc(0)).subarray(0, bytes);
  }

  /** Consumes exactly `bytes` (fewer only at the end of the stream). */
  async take(bytes: number): Promise<Buffer> {
    const head = await this.peek(bytes);
    this.skipBuffered(head.length);
    return head;
  }

  private skipBuffered(bytes: number): void {
    this.position += bytes;
    this.buffered -= bytes;
    while (bytes > 0) {
      const first = this.chunks[0]!;
      if (first.length <= bytes) {
        this.chunks.shift();
        bytes -= first.length;
      } else {
        this.chunks[0] = first.subarray(bytes);
        bytes = 0;
      }
    }
  }

  /** Consumes `bytes` without keeping them; returns how many there were. */
  async skip(bytes: number): Promise<number> {
    let left = bytes;
    while (left > 0) {
      await this.fill(1);
      if (this.buffered === 0) break;
      const n = Math.min(left, this.chunks[0]!.length);
      this.skipBuffered(n);
      left -= n;
    }
    return bytes - left;
  }

  /** Puts bytes taken too early (a decoder's unused input) back at the front. */
  unshift(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.chunks.unshift(bytes);
    this.buffered += bytes.length;
    this.position -= bytes.length;
  }

  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.buffered === 0;
  }

  /** Up to `bytes` of the stream as chunks, consumed as they are yielded. */
  async *stream(bytes = Infinity): AsyncIterable<Buffer> {
    let left = bytes;
    while (left > 0) {
      await this.fill(1);
      if (this.buffered === 0) return;
      const first = this.chunks[0]!;
      const piece = first.subarray(0, Math.min(first.length, left));
      this.skipBuffered(piece.length);
      left -= piece.length;
      yield piece;
    }
  }

  async close(): Promise<void> {
    await this.source.return?.();
  }
}
