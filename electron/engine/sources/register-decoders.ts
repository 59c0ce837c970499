// Every compressed format this build decodes, as a stream (downloads) and as a file.
import { registerStreamDecoder } from './decoded-source';
import { gunzipStream, openGzipFile } from './gzip-source';
import { registerFileDecoder } from './open-source';

registerStreamDecoder('gzip', gunzipStream);
registerFileDecoder('gzip', openGzipFile);
