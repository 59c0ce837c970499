// Says so when the browser host's connection drops; the client reconnects by itself.

import { useConnection } from '../store/use-stores';

export function ConnectionBanner() {
  const state = useConnection();
  if (state !== 'closed') return null;
  return (
    <div className="connection-banner" role="status">
      Lost the connection to Blockwise. Reconnecting… If this lasts, check that <code>npm run start:web</code> is still running.
    </div>
  );
}
