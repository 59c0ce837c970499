// Side effect: lets openSource download http(s) images.
import { registerUrlOpener } from './open-source';
import { openUrlSource } from './url-source';

registerUrlOpener(openUrlSource);
