// Side effect: lets openSource download http(s) images.
import { registerUrlOpener } from './open-source';
import { watchForTruncation } from './stream-truncation';
import { openUrlSource } from './url-source';

registerUrlOpener(async (spec) => {
  const reader = await openUrlSource(spec);
  // A download that ends cleanly but short (a member boundary, a server closing a body of unknown length).
  watchForTruncation(reader, reader.info.name, spec.url);
  return reader;
});
