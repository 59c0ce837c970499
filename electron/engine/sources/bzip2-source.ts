// bzip2 through unbzip2-stream (pure JS, streaming, reads concatenated streams as pbzip2 writes
// them); chosen by bench/decompressors.ts. bzip2 records no image size.

import { PassThrough, Readable } from 'node:stream';
import type { StreamDecoder } from './decoded-source';

export const bunzip2Stream: StreamDecoder = (input) => {
  const unbzip2 = require('unbzip2-stream') as () => NodeJS.ReadWriteStream;
  // unbzip2-stream is an old-style stream: bridge it into an async-iterable one, errors included.
  const source = Readable.from(input);
  const decoder = unbzip2();
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  source.on('error', (error) => out.destroy(error));
  decoder.on('error', (error: Error) => out.destroy(error));
  source.pipe(decoder).pipe(out);
  return out;
};
