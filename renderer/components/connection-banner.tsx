// Says so when the browser host's connection drops; the client reconnects by itself. A host that
// turns this page's token down (restarted since, so it has a new one) is no drop: no wait mends it.

import { useConnection } from '../store/use-stores';

export function ConnectionBanner() {
  const state = useConnection();
  if (state === 'refused') {
    return (
      <div className="connection-banner" role="alert" data-testid="connection-refused">
        Blockwise was restarted (or this address lacks its access token), so it no longer accepts this page. Open the address it printed when it
        started: the one ending in <code>?token=…</code>.
      </div>
    );
  }
  if (state !== 'closed') return null;
  return (
    <div className="connection-banner" role="status">
      Lost the connection to Blockwise. Reconnecting… If this lasts, check that <code>npm run start:web</code> is still running; if it was
      started again, open the address it printed (its port may have changed).
    </div>
  );
}
