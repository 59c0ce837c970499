// The image step: which image is chosen, what the host says about it, and the browser host's
// little file browser (a web page cannot open a native dialog that reveals paths).

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BlockwiseApi, BrowseEntry, ImageInfo } from '../../shared/contract';
import type { SerializedError } from '../../shared/errors';
import { toSerializedError } from '../request-failed';

export interface FileBrowserState {
  dir: string;
  parent?: string;
  entries: BrowseEntry[];
  loading: boolean;
  error: SerializedError | null;
}

export interface ImageState {
  image: ImageInfo | null;
  loading: boolean;
  error: SerializedError | null;
  /** Shown under the step, e.g. why a dropped file cannot be used in a browser. */
  notice: string | null;
  /** The browser host's file browser, when open. */
  browser: FileBrowserState | null;
  /** Electron: the host opens a native dialog. Browser host: our own file browser. */
  nativeDialog: boolean;
  pickImage(): Promise<void>;
  openPath(path: string): Promise<void>;
  browse(dir?: string): Promise<void>;
  closeBrowser(): void;
  /** Files dropped on the window; `pathOf` knows their paths only under Electron. */
  dropFiles(files: { name: string; path: string | undefined }[]): Promise<void>;
  clear(): void;
}

export function createImageStore(api: BlockwiseApi, nativeDialog: boolean): StoreApi<ImageState> {
  let lastDir: string | undefined;
  let generation = 0; // a slow inspect must not overwrite a newer choice

  return createStore<ImageState>()((set, get) => ({
    image: null,
    loading: false,
    error: null,
    notice: null,
    browser: null,
    nativeDialog,

    async pickImage() {
      if (!get().nativeDialog) {
        await get().browse(lastDir);
        return;
      }
      const mine = ++generation;
      set({ loading: true, error: null, notice: null });
      try {
        const image = await api.request('image.pick', {});
        if (mine !== generation) return;
        set(image ? { image, loading: false } : { loading: false });
      } catch (error) {
        if (mine === generation) set({ loading: false, error: toSerializedError(error) });
      }
    },

    async openPath(path) {
      const trimmed = path.trim();
      if (!trimmed) return;
      const mine = ++generation;
      set({ loading: true, error: null, notice: null });
      try {
        const image = await api.request('image.inspect', { path: trimmed });
        if (mine !== generation) return;
        set({ image, loading: false, browser: null });
      } catch (error) {
        if (mine !== generation) return;
        const serialized = toSerializedError(error);
        const browser = get().browser;
        // Inside the file browser the error belongs to the dialog; keep the previous image.
        if (browser) set({ loading: false, browser: { ...browser, error: serialized } });
        else set({ loading: false, error: serialized });
      }
    },

    async browse(dir) {
      const previous = get().browser;
      set({ browser: { dir: dir ?? previous?.dir ?? '', entries: previous?.entries ?? [], loading: true, error: null } });
      try {
        const listing = await api.request('image.browse', dir ? { dir } : {});
        lastDir = listing.dir;
        if (!get().browser) return; // closed meanwhile
        set({ browser: { dir: listing.dir, ...(listing.parent ? { parent: listing.parent } : {}), entries: listing.entries, loading: false, error: null } });
      } catch (error) {
        const current = get().browser;
        if (current) set({ browser: { ...current, loading: false, error: toSerializedError(error) } });
      }
    },

    closeBrowser() {
      set({ browser: null });
    },

    async dropFiles(files) {
      const file = files[0];
      if (!file) return;
      if (!file.path) {
        set({
          notice: get().nativeDialog
            ? `Blockwise could not tell where “${file.name}” is stored. Use “Select image” to pick it.`
            : `Your browser keeps the location of “${file.name}” private, so it cannot be opened by dropping it here. Use “Select image” to find it on this computer.`,
        });
        return;
      }
      await get().openPath(file.path);
    },

    clear() {
      generation++;
      set({ image: null, error: null, notice: null, loading: false });
    },
  }));
}
