// Every compressed format this build decodes, as a stream (downloads) and as a file. xz, zstd and
// bzip2 go through the system's tool when it has one (decoder-choice.ts), else in-process.
import { registerStreamDecoder } from './decoded-source';
import { preferringTool } from './decoder-choice';
import { gunzipStream, openGzipFile } from './gzip-source';
import { registerFileDecoder } from './open-source';

registerStreamDecoder('gzip', preferringTool('gzip', gunzipStream));
registerFileDecoder('gzip', openGzipFile);
import { openXzFile, xzStream } from './xz-source';

registerStreamDecoder('xz', preferringTool('xz', xzStream));
registerFileDecoder('xz', openXzFile);
import { checkingStreamEnds } from './bzip2-ends';
import { bunzip2Stream } from './bzip2-source';
import { openDecodedFile } from './decoded-file';
import { openZstdFile, zstdStream } from './zstd-source';

registerStreamDecoder('zstd', preferringTool('zstd', zstdStream));
registerFileDecoder('zstd', openZstdFile);
// Every bzip2 decoder stops quietly at junk after a stream: what follows each stream's end is checked.
registerStreamDecoder('bzip2', checkingStreamEnds(preferringTool('bzip2', bunzip2Stream)));
registerFileDecoder('bzip2', (filePath, storedSize, spec) => openDecodedFile(filePath, storedSize, spec, undefined, 'bzip2'));
import { openZipFile, zipStream } from './zip-source';

registerStreamDecoder('zip', zipStream);
registerFileDecoder('zip', openZipFile);
import { openTarFile, tarStream } from './tar-source';

registerStreamDecoder('tar', tarStream);
registerFileDecoder('tar', openTarFile);
