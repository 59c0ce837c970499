// The browser host's file chooser: folders and files on the host machine (image.browse), plus a
// path field for pasting a path. A web page cannot open a native dialog that reveals paths.
// It opens where the last image was looked for (kept in this page's localStorage), else in the
// home folder's Downloads when there is one, else in the home folder.

import { useEffect, useRef, useState } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import { describeError } from '../../shared/errors';
import { formatBytes } from '../format';
import type { ImageState } from '../store/image-store';
import { useImage, useStores } from '../store/use-stores';
import { FileIcon, FolderIcon, UpIcon } from './icons';
import { Modal } from './modal';

const IMAGE_NAME = /\.(img|iso|raw|bin|dmg|wic|gz|xz|zst|zstd|bz2|zip|tar)$/i;
const LAST_FOLDER = 'blockwise.lastFolder';

function rememberedFolder(): string | undefined {
  try {
    return localStorage.getItem(LAST_FOLDER) ?? undefined;
  } catch {
    return undefined; // storage turned off: start at home
  }
}

function rememberFolder(dir: string): void {
  try {
    localStorage.setItem(LAST_FOLDER, dir);
  } catch {
    /* storage turned off or full: the next visit starts at home */
  }
}

/** Opens the file browser where the person is most likely to find the image. */
export async function openFileBrowser(image: StoreApi<ImageState>): Promise<void> {
  const { browse } = image.getState();
  const last = rememberedFolder();
  if (last) {
    await browse(last);
    if (!image.getState().browser?.error) return;
    // Moved or deleted since: start afresh.
  }
  await browse();
  const downloads = image.getState().browser?.entries.find((e) => e.kind === 'dir' && e.name === 'Downloads');
  if (downloads && !last) await browse(downloads.path);
}

export function FileBrowserDialog() {
  const browser = useImage((s) => s.browser);
  const loading = useImage((s) => s.loading);
  const browse = useImage((s) => s.browse);
  const openPath = useImage((s) => s.openPath);
  const close = useImage((s) => s.closeBrowser);
  const stores = useStores();
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
  const listed = Boolean(browser && !browser.loading && !browser.error && browser.dir);
  useEffect(() => {
    if (listed) rememberFolder(dir);
  }, [listed, dir]);
  // A folder opened from the list takes its button away with the keyboard focus, which fell back
  // to the page (so did Up, disabled at the top): it goes to the new folder's first entry instead
  // (the path field when it is empty), so Tab carries on where the person is.
  const list = useRef<HTMLUListElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const up = useRef<HTMLButtonElement>(null);
  const refocus = useRef<'list' | 'up' | undefined>(undefined);
  const loadingFolder = browser?.loading ?? false;
  useEffect(() => {
    const from = refocus.current;
    if (!from || loadingFolder) return;
    refocus.current = undefined;
    if (from === 'up' && up.current && !up.current.disabled) return; // Up keeps it: pressed again, it climbs on
    (list.current?.querySelector<HTMLButtonElement>('.file-entry') ?? field.current)?.focus();
  }, [loadingFolder, dir]);
  if (!browser) return null;
  const go = (folder: string, from?: 'list' | 'up') => {
    edited.current = false;
    refocus.current = from;
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
        else {
          void openPath(typed).then(() => {
            // A folder typed without its final slash: the host says it is one, so open it.
            const refused = stores.image.getState().browser?.error;
            if (refused?.details?.isFolder === true && typeof refused.details.path === 'string') go(refused.details.path);
          });
        }
      }}
    >
      <label className="path-label">
        <span>Path</span>
        <input ref={field} className="text-input" value={typed} onChange={(e) => {
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
        <button type="button" className="button button-icon" ref={up} onClick={() => browser.parent && go(browser.parent, 'up')} disabled={!browser.parent} aria-label="Up one folder">
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
      <ul ref={list} className="file-list" aria-label={`Contents of ${browser.dir || 'folder'}`} aria-busy={browser.loading}>
        {browser.entries.length === 0 && !browser.loading && <li className="file-empty">This folder is empty.</li>}
        {browser.entries.map((entry) => {
          const image = entry.kind === 'file' && IMAGE_NAME.test(entry.name);
          return (
            <li key={entry.path}>
              <button
                type="button"
                className={`file-entry${image ? ' file-image' : ''}`}
                onClick={() => (entry.kind === 'dir' ? go(entry.path, 'list') : void openPath(entry.path))}
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
