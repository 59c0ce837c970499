// "Choose from a catalog": the images a catalog lists (Raspberry Pi's unless another address is
// given), grouped as the catalog groups them, each with its date and sizes. Choosing one checks it
// like a typed address and fills in the catalog's SHA-256, which the flash then checks.

import { useEffect, useRef, useState } from 'react';
import type { CatalogEntry } from '../../shared/catalog';
import { describeError } from '../../shared/errors';
import { formatBytes } from '../format';
import { useCatalog, useSettings } from '../store/use-stores';
import { Modal } from './modal';
import { urlProblem } from './url-dialog';

function facts(entry: CatalogEntry): string {
  const parts = [
    entry.releaseDate ? `Released ${entry.releaseDate}` : undefined,
    entry.downloadSize !== undefined ? `${formatBytes(entry.downloadSize)} download` : undefined,
    entry.imageSize !== undefined ? `${formatBytes(entry.imageSize)} on the drive` : undefined,
    entry.sha256 ? 'SHA-256 checked' : undefined,
  ];
  return parts.filter(Boolean).join(' · ');
}

export function CatalogDialog() {
  const open = useCatalog((s) => s.open);
  const url = useCatalog((s) => s.url);
  const levels = useCatalog((s) => s.levels);
  const loading = useCatalog((s) => s.loading);
  const opening = useCatalog((s) => s.opening);
  const choosing = useCatalog((s) => s.choosing);
  const error = useCatalog((s) => s.error);
  const skipped = useCatalog((s) => s.skipped);
  const close = useCatalog((s) => s.close);
  const load = useCatalog((s) => s.load);
  const openGroup = useCatalog((s) => s.openGroup);
  const back = useCatalog((s) => s.back);
  const choose = useCatalog((s) => s.choose);
  const saved = useSettings((s) => s.settings.catalogUrl);
  const [editing, setEditing] = useState(false);
  const [typed, setTyped] = useState('');
  // A group opened (or left with Back) takes the pressed button away with the keyboard focus: it
  // goes to the new list's first entry, so Tab and Enter carry on from there.
  const list = useRef<HTMLUListElement>(null);
  const depth = levels.length;
  const moved = useRef(false);
  useEffect(() => {
    if (!moved.current) return;
    moved.current = false;
    list.current?.querySelector<HTMLButtonElement>('.catalog-entry')?.focus();
  }, [depth, levels]);
  // Likewise once a catalog is read: on opening (the dialog's first button, Cancel, had it while
  // the list was read) and after another address (its form, focus and all, is gone): the first
  // entry, or "Use another catalog" when there is no list (the address failed).
  const another = useRef<HTMLButtonElement>(null);
  const arriving = useRef(false);
  // "Keep this one" folds the form away: the focus goes back to the link that opened it.
  const keeping = useRef(false);
  useEffect(() => {
    if (editing || !keeping.current) return;
    keeping.current = false;
    another.current?.focus();
  }, [editing]);
  useEffect(() => {
    if (open) arriving.current = true;
  }, [open]);
  useEffect(() => {
    if (!open || !arriving.current || loading || editing) return;
    arriving.current = false;
    (list.current?.querySelector<HTMLButtonElement>('.catalog-entry') ?? another.current)?.focus();
  }, [open, loading, editing, levels]);
  if (!open) return null;
  const level = levels.at(-1);
  const shownUrl = url ?? saved;
  const problem = urlProblem(typed);
  const busy = loading || choosing !== null;

  const footer = (
    <button type="button" className="button button-quiet" onClick={close}>
      Cancel
    </button>
  );

  return (
    <Modal title="Choose from a catalog" onClose={close} footer={footer}>
      <div className="catalog-source">
        {editing ? (
          <form
            className="path-form"
            // Escape in the address goes back to the catalog shown, as "Keep this one" does; it
            // closed the whole dialog.
            onKeyDown={(event) => {
              if (event.key !== 'Escape') return;
              event.preventDefault();
              event.stopPropagation();
              keeping.current = true;
              setEditing(false);
            }}
            onSubmit={(event) => {
              event.preventDefault();
              if (problem) return;
              arriving.current = true;
              setEditing(false);
              void load(typed.trim());
            }}
          >
            <label className="path-label">
              <span className="field-label">Catalog address (Raspberry Pi Imager’s JSON format)</span>
              <input className="text-input" type="url" value={typed} onChange={(e) => setTyped(e.target.value)} spellCheck={false} autoComplete="off" autoFocus />
            </label>
            <button
              type="button"
              className="button button-quiet"
              onClick={() => {
                keeping.current = true;
                setEditing(false);
              }}
            >
              Keep this one
            </button>
            <button type="submit" className="button button-primary" disabled={problem !== undefined}>
              Open catalog
            </button>
            {typed.trim() !== '' && problem && <p className="field-problem">{problem}</p>}
          </form>
        ) : (
          <p className="catalog-address">
            <span className="catalog-url" title={shownUrl}>
              {shownUrl}
            </span>
            <button
              ref={another}
              type="button"
              className="button-link"
              onClick={() => {
                setTyped(shownUrl);
                setEditing(true);
              }}
              disabled={busy}
            >
              Use another catalog
            </button>
          </p>
        )}
      </div>
      {levels.length > 1 && (
        <div className="browser-bar">
          <button
            type="button"
            className="button button-quiet button-small"
            onClick={() => {
              moved.current = true;
              back();
            }}
            disabled={choosing !== null}
          >
            ‹ Back
          </button>
          <span className="catalog-path">{levels.slice(1).map((l) => l.title).join(' › ')}</span>
        </div>
      )}
      {error && (
        <p className="inline-error" role="alert">
          {describeError(error)}
        </p>
      )}
      {loading && (
        <p className="step-hint" role="status">
          {opening ? 'Reading this group of the catalog…' : 'Reading the catalog…'}
        </p>
      )}
      {/* The entry's own "Checking…" is hidden from screen readers (it would join its name): said here. */}
      {choosing !== null && (
        <p className="step-hint" role="status">
          Checking {level?.entries.find((e) => e.url === choosing)?.name ?? 'the image'}…
        </p>
      )}
      {level && (
        <ul
          ref={list}
          className="file-list catalog-list"
          aria-label={levels.length > 1 ? level.title : 'Catalog'}
          aria-busy={busy}
          // Up, Down, Home and End move between entries: a catalog of hundreds is not Tabbed through.
          onKeyDown={(event) => {
            const entries = [...(list.current?.querySelectorAll<HTMLButtonElement>('.catalog-entry') ?? [])];
            const at = entries.indexOf(document.activeElement as HTMLButtonElement);
            const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: entries.length - 1 }[event.key];
            if (to === undefined || at < 0) return;
            event.preventDefault();
            entries[Math.max(0, Math.min(entries.length - 1, to))]?.focus();
          }}
        >
          {level.entries.map((entry) => {
            const group = entry.children !== undefined || entry.childrenUrl !== undefined;
            // The entry pressed stays enabled while it is read or checked: disabled, it would drop
            // the keyboard focus on the page (and Escape with it).
            const checking = choosing === entry.url || (opening !== null && opening === entry.childrenUrl);
            const detail = group ? undefined : facts(entry);
            return (
              <li key={`${entry.name}\n${entry.url ?? entry.childrenUrl ?? ''}`}>
                <button
                  type="button"
                  className="file-entry catalog-entry"
                  disabled={busy && !checking}
                  aria-busy={checking}
                  onClick={() => {
                    if (busy) return;
                    moved.current = group;
                    void (group ? openGroup(entry) : choose(entry));
                  }}
                >
                  <span className="catalog-text">
                    <span className="file-name catalog-name">{entry.name}</span>
                    {entry.description && <span className="catalog-description">{entry.description}</span>}
                    {detail && <span className="catalog-facts">{detail}</span>}
                  </span>
                  <span className="catalog-go" aria-hidden="true">
                    {checking ? (group ? 'Opening…' : 'Checking…') : group ? '›' : ''}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {level && levels.length === 1 && skipped > 0 && (
        <p className="field-help">
          {skipped} entr{skipped === 1 ? 'y' : 'ies'} of this catalog cannot be written by Blockwise (no http:// or https:// image address) and {skipped === 1 ? 'is' : 'are'} not shown.
        </p>
      )}
    </Modal>
  );
}
