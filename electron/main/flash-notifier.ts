// A desktop notification when a flash ends, since people switch away during a long write.

import { describeError } from '../../shared/errors';
import type { EventBus } from '../host/event-bus';

export interface NotificationLike {
  show(): void;
}
export type NotificationFactory = (options: { title: string; body: string }) => NotificationLike;

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

/** Returns the unsubscribe function. */
export function notifyFlashEnd(bus: EventBus, notify: NotificationFactory): () => void {
  return bus.subscribe((event) => {
    if (event.name === 'flash.done') {
      const r = event.payload.result;
      const ok = r.targets.filter((t) => t.ok).length;
      const failed = r.targets.length - ok;
      const seconds = (r.durationMs / 1000).toFixed(1);
      const verified = r.targets.some((t) => t.verified) ? ', verified' : '';
      const body = `${megabytes(r.imageSize)} written to ${ok} drive${ok === 1 ? '' : 's'} in ${seconds} s${verified}.` + (failed ? ` ${failed} drive${failed === 1 ? '' : 's'} failed.` : '');
      notify({ title: failed ? 'Flash finished with errors' : 'Flash complete', body }).show();
    } else if (event.name === 'flash.error') {
      notify({ title: 'Flash failed', body: describeError(event.payload.error) }).show();
    }
  });
}
