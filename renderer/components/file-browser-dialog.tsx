// The browser host's file chooser: folders and files on the host machine (image.browse), plus a
// path field for pasting a path. A web page cannot open a native dialog that reveals paths.

import { useEffect, useRef, useState } from 'react';
import { describeError } from '../../shared/errors';
import { formatBytes } from '../format';
import { useImage } from '../store/use-stores';
import { FileIcon, FolderIcon, UpIcon } from './icons';
import { Modal } from './modal';

const IMAGE_NAME = /\.(img|iso|raw|bin|dmg|wic|gz|xz|zst|zstd|bz2|zip|tar)$/i;

export function FileBrowserDialog() {
  const browser = useImage((s) => s.browser);
  const loading = useImage((s) => s.loading);
  const browse = useImage((s) => s.browse);
  const openPath = useImage((s) => s.openPath);
  const close = useImage((s) => s.closeBrowser);
  const [typed, setTyped] = useState('');
  // The folder's path pre-fills the field, but never over what the person has started typing
  // (the listing may arrive after they began).
  const edited = useRef(false);
  const dir = browser?.dir ?? '';
  const open = browser !== undefined && browser !== null;
  useEffect(() => {
    if (!open) edited.current = false;
  }, [open]);
  useEffect(() => {
    if (!edited.current) setTyped(dir ? `${dir.replace(/\/$/, '')}/` : '');
  }, [dir, open]);
  if (!browser) return null;
  const go = (folder: string) => {
    edited.current = false;
    void browse(folder);
  };

  const footer = (
    <form
      className="path-form"
      onSubmit={(event) => {
        event.preventDefault();
        // A path ending in a separator, or naming a listed folder, is somewhere to go, not to open.
        const folder = browser.entries.find((e) => e.kind === 'dir' && (e.path === typed || e.path === typed.replace(/[/\\]+$/, '')));
        if (/[/\\]$/.test(typed.trim())) go(typed.trim());
        else if (folder) go(folder.path);
        else void openPath(typed);
      }}
    >
      <label className="path-label">
        <span>Path</span>
        <input className="text-input" value={typed} onChange={(e) => {
            edited.current = true;
            setTyped(e.target.value);
          }} spellCheck={false} autoComplete="off" />
      </label>
      <button type="button" className="button button-quiet" onClick={close}>
        Cancel
      </button>
      <button type="submit" className="button button-primary" disabled={loading || !typed.trim()}>
        {loading ? 'Opening…' : 'Open'}
      </button>
    </form>
  );

  return (
    <Modal title="Choose an image on this computer" onClose={close} footer={footer}>
      <div className="browser-bar">
        <button type="button" className="button button-icon" onClick={() => browser.parent && go(browser.parent)} disabled={!browser.parent} aria-label="Up one folder">
          <UpIcon />
        </button>
        <span className="browser-dir" title={browser.dir}>
          <span dir="ltr">{browser.dir || '…'}</span>
        </span>
      </div>
      {browser.error && (
        <p className="inline-error" role="alert">
          {describeError(browser.error)}
        </p>
      )}
      <ul className="file-list" aria-label={`Contents of ${browser.dir || 'folder'}`} aria-busy={browser.loading}>
        {browser.entries.length === 0 && !browser.loading && <li className="file-empty">This folder is empty.</li>}
        {browser.entries.map((entry) => {
          const image = entry.kind === 'file' && IMAGE_NAME.test(entry.name);
          return (
            <li key={entry.path}>
              <button
                type="button"
                className={`file-entry${image ? ' file-image' : ''}`}
                onClick={() => (entry.kind === 'dir' ? go(entry.path) : void openPath(entry.path))}
              >
                {entry.kind === 'dir' ? <FolderIcon /> : <FileIcon />}
                <span className="file-name">{entry.name}</span>
                {entry.kind === 'file' && entry.size !== undefined && <span className="file-size">{formatBytes(entry.size)}</span>}
              </button>
            </li>
          );
        })}
      </ul>
    </Modal>
  );
}
