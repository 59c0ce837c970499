// The catalog dialog: which catalog is shown (settings.catalogUrl, or an address the person typed),
// the groups opened on the way down, and the image being checked once chosen. The host reads the
// catalogs (catalog.list); choosing an image goes through the image store like a typed address.

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { CatalogEntry } from '../../shared/catalog';
import type { BlockwiseApi } from '../../shared/contract';
import type { SerializedError } from '../../shared/errors';
import { toSerializedError } from '../request-failed';

/** One list on the way down: the catalog itself, then each group opened. */
export interface CatalogLevel {
  title: string;
  entries: CatalogEntry[];
}

export interface CatalogState {
  open: boolean;
  /** The catalog shown (after redirects), once one was read. */
  url: string | null;
  /** Entries the catalog holds that cannot be written (no http(s) address). */
  skipped: number;
  levels: CatalogLevel[];
  /** Reading a catalog or a group at another address. */
  loading: boolean;
  /** The group being read (its subitems_url), while it is. */
  opening: string | null;
  /** The image chosen, while the host checks it. */
  choosing: string | null;
  error: SerializedError | null;
  openDialog(): void;
  close(): void;
  /** Reads a catalog: `url`, else the one in settings. Saved in settings once read. */
  load(url?: string): Promise<void>;
  openGroup(entry: CatalogEntry): Promise<void>;
  back(): void;
  choose(entry: CatalogEntry): Promise<void>;
}

export interface CatalogDeps {
  /** The image store's openCatalogImage: null once chosen, else why not. */
  chooseImage(entry: CatalogEntry): Promise<SerializedError | null>;
  abandonImage(): void;
  /** Remembers the catalog's address (settings.catalogUrl). */
  remember(url: string): void;
}

export function createCatalogStore(api: BlockwiseApi, deps: CatalogDeps): StoreApi<CatalogState> {
  let generation = 0; // a late answer for a catalog or group left behind is dropped
  return createStore<CatalogState>()((set, get) => ({
    open: false,
    url: null,
    skipped: 0,
    levels: [],
    loading: false,
    opening: null,
    choosing: null,
    error: null,

    openDialog() {
      set({ open: true, error: null });
      // Read once per session; reopened, the dialog starts at the top of the catalog.
      if (get().levels.length === 0 && !get().loading) void get().load();
    },

    close() {
      generation++;
      if (get().choosing) deps.abandonImage();
      set({ open: false, loading: false, opening: null, choosing: null, error: null, levels: get().levels.slice(0, 1) });
    },

    async load(url) {
      const mine = ++generation;
      // Another catalog asked for: the old one's list goes, and the address shown is the one asked
      // for, so that an error about it is not read as one about the list still shown.
      set(url === undefined ? { loading: true, error: null } : { loading: true, error: null, url, levels: [], skipped: 0 });
      try {
        const catalog = await api.request('catalog.list', url === undefined ? {} : { url });
        if (mine !== generation) return;
        set({ url: catalog.url, skipped: catalog.skipped, levels: [{ title: 'Catalog', entries: catalog.entries }], loading: false });
        if (url !== undefined) deps.remember(url);
      } catch (error) {
        if (mine === generation) set({ loading: false, error: toSerializedError(error) });
      }
    },

    async openGroup(entry) {
      if (entry.children) {
        set({ levels: [...get().levels, { title: entry.name, entries: entry.children }], error: null });
        return;
      }
      if (!entry.childrenUrl) return;
      const mine = ++generation;
      set({ loading: true, opening: entry.childrenUrl, error: null });
      try {
        const group = await api.request('catalog.list', { url: entry.childrenUrl });
        if (mine !== generation) return;
        set({ levels: [...get().levels, { title: entry.name, entries: group.entries }], loading: false, opening: null });
      } catch (error) {
        if (mine !== generation) return;
        // The address is the catalog's, not one the person typed: say which entry it belongs to.
        const cause = toSerializedError(error);
        set({ loading: false, opening: null, error: { ...cause, message: `“${entry.name}” could not be opened. ${cause.message}` } });
      }
    },

    back() {
      generation++;
      if (get().levels.length > 1) set({ levels: get().levels.slice(0, -1), loading: false, opening: null, error: null });
    },

    async choose(entry) {
      if (!entry.url || get().choosing) return;
      const mine = ++generation;
      set({ choosing: entry.url, error: null });
      const problem = await deps.chooseImage(entry);
      if (mine !== generation) return;
      if (problem) set({ choosing: null, error: problem });
      else set({ choosing: null, open: false, levels: get().levels.slice(0, 1) });
    },
  }));
}
