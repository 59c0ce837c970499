// Every compressed format this build decodes, as a stream (downloads) and as a file.
import { registerStreamDecoder } from './decoded-source';
import { gunzipStream, openGzipFile } from './gzip-source';
import { registerFileDecoder } from './open-source';

registerStreamDecoder('gzip', gunzipStream);
registerFileDecoder('gzip', openGzipFile);
import { openXzFile, xzStream } from './xz-source';

registerStreamDecoder('xz', xzStream);
registerFileDecoder('xz', openXzFile);
import { bunzip2Stream } from './bzip2-source';
import { openDecodedFile } from './decoded-file';
import { openZstdFile, zstdStream } from './zstd-source';

registerStreamDecoder('zstd', zstdStream);
registerFileDecoder('zstd', openZstdFile);
registerStreamDecoder('bzip2', bunzip2Stream);
registerFileDecoder('bzip2', (filePath, storedSize, spec) => openDecodedFile(filePath, storedSize, spec));
import { openZipFile, zipStream } from './zip-source';

registerStreamDecoder('zip', zipStream);
registerFileDecoder('zip', openZipFile);
