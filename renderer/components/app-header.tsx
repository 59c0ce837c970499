// The top bar: name, and the way into Settings.

import { useSettings } from '../store/use-stores';
import { GearIcon } from './icons';

export function AppHeader() {
  const setOpen = useSettings((s) => s.setOpen);
  return (
    <header className="app-header">
      <div className="brand">
        <img src="logo.svg" alt="" width={28} height={28} />
        <span className="brand-name">Blockwise</span>
      </div>
      <button type="button" className="button button-icon" onClick={() => setOpen(true)} aria-label="Settings" title="Settings">
        <GearIcon />
      </button>
    </header>
  );
}
