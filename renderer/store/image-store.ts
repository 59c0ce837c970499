// The image step: which image is chosen (a file on the host or a web address), what the host says
// about it, which image inside a zip, the SHA-256 the person expects, and the browser host's
// little file browser (a web page cannot open a native dialog that reveals paths).

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { CatalogEntry } from '../../shared/catalog';
import type { BlockwiseApi, BrowseEntry, ImageInfo } from '../../shared/contract';
import type { SerializedError } from '../../shared/errors';
import { parseChecksumInput, type ChecksumInput } from '../../shared/checksum-input';
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
  /** The "Use a URL" dialog, when open; its error is why the last address could not be used. */
  urlDialog: { error: SerializedError | null } | null;
  /** What the person typed as the expected SHA-256, and what it means. */
  checksumText: string;
  checksumInput: ChecksumInput;
  openUrlDialog(): void;
  closeUrlDialog(): void;
  openUrl(url: string): Promise<void>;
  /**
   * Chooses a catalog's image: inspected like an address typed in, its SHA-256 (from the catalog)
   * put in the checksum field. Resolves with why it cannot be used, or null once it is chosen.
   */
  openCatalogImage(entry: CatalogEntry): Promise<SerializedError | null>;
  /** The catalog dialog closed while its image was being checked: the late answer is dropped. */
  abandonCatalogImage(): void;
  /** The catalog entry the chosen image came from (while image.url is still this url). */
  catalogChoice: { url: string; name: string } | null;
  /** Picks one of the images inside a zip (ImageInfo.entries). */
  chooseEntry(entry: string): Promise<void>;
  setChecksumText(text: string): void;
  pickImage(): Promise<void>;
  openPath(path: string): Promise<void>;
  browse(dir?: string): Promise<void>;
  closeBrowser(): void;
  /** Files dropped on the window; `pathOf` knows their paths only under Electron. */
  dropFiles(files: { name: string; path: string | undefined }[]): Promise<void>;
  clear(): void;
  /**
   * Shows the image of a flash this renderer joined (flash.jobs): inspected like a chosen one, or,
   * when it can no longer be inspected, `fallback` (its name and location).
   */
  showFlashed(fallback: ImageInfo, entry?: string): Promise<void>;
  /**
   * A flash of `flashed` found several images in it (ARCHIVE_AMBIGUOUS: a zip or tar read as a
   * stream, whose list could not be read before): while it is still the chosen image, offer them.
   */
  offerEntries(flashed: ImageInfo, names: string[]): void;
}

const NO_CHECKSUM = { checksumText: '', checksumInput: { kind: 'none' } as ChecksumInput };

/** The image can be flashed as chosen: a zip with several images needs one picked. */
export function needsEntry(image: ImageInfo | null): boolean {
  return Boolean(image?.entries && image.entries.length > 1 && !image.entry);
}

export function createImageStore(api: BlockwiseApi, nativeDialog: boolean): StoreApi<ImageState> {
  let lastDir: string | undefined;
  let generation = 0; // a slow inspect must not overwrite a newer choice
  // The dialog whose check is under way: closing it (Cancel, Escape) abandons the check, so a late
  // answer neither chooses the image the person turned down nor reopens the dialog with its error.
  let checking: { dialog: 'url' | 'browser' | 'catalog'; generation: number } | undefined;
  const abandonCheck = (dialog: 'url' | 'browser' | 'catalog', loading: boolean): Partial<ImageState> => {
    if (!loading || checking?.dialog !== dialog || checking.generation !== generation) return {};
    checking = undefined;
    generation++;
    return { loading: false };
  };

  return createStore<ImageState>()((set, get) => ({
    image: null,
    loading: false,
    error: null,
    notice: null,
    browser: null,
    nativeDialog,
    urlDialog: null,
    checksumText: '',
    checksumInput: { kind: 'none' },
    catalogChoice: null,

    async openCatalogImage(entry) {
      if (!entry.url) return null;
      const mine = ++generation;
      checking = { dialog: 'catalog', generation: mine };
      set({ loading: true, error: null, notice: null });
      try {
        const inspected = await api.request('image.inspect', { url: entry.url });
        if (mine !== generation) return null;
        // The catalog's SHA-256 is checked as one pasted is (download or image, whichever it matches).
        // An archive of several images: the one SHA-256 fits one of them at most, and checked
        // against another it failed the flash as a damaged download. Left out, saying so.
        const several = (inspected.entries?.length ?? 0) > 1;
        const checksumText = several ? '' : (entry.sha256 ?? '');
        // Where the download's format records no size (.bz2, a stream), the catalog's own says which
        // drives are too small before anything is written (the flash still stops at a full drive).
        const image = inspected.imageSize === undefined && entry.imageSize !== undefined && !inspected.formats.every((f) => f === 'raw' || f === 'iso') ? { ...inspected, imageSize: entry.imageSize } : inspected;
        set({
          image,
          loading: false,
          catalogChoice: { url: image.url ?? entry.url, name: entry.name },
          notice:
            several && entry.sha256
              ? `The catalog gives one SHA-256 for ${entry.name}, but its archive holds ${inspected.entries!.length} images: it is not checked. If you know which image it belongs to, choose that one and paste it under “Check against a SHA-256”: ${entry.sha256}`
              : null,
          checksumText,
          checksumInput: parseChecksumInput(checksumText, image.name),
        });
        return null;
      } catch (error) {
        if (mine !== generation) return null;
        set({ loading: false });
        return toSerializedError(error);
      }
    },

    abandonCatalogImage() {
      set(abandonCheck('catalog', get().loading));
    },

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
        set(image ? { image, loading: false, ...NO_CHECKSUM } : { loading: false });
      } catch (error) {
        if (mine === generation) set({ loading: false, error: toSerializedError(error) });
      }
    },

    async openPath(path) {
      const trimmed = path.trim();
      if (!trimmed) return;
      const mine = ++generation;
      checking = get().browser ? { dialog: 'browser', generation: mine } : undefined;
      set({ loading: true, error: null, notice: null });
      try {
        const image = await api.request('image.inspect', { path: trimmed });
        if (mine !== generation) return;
        set({ image, loading: false, browser: null, ...NO_CHECKSUM });
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
      set({ browser: null, ...abandonCheck('browser', get().loading) });
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

    openUrlDialog() {
      set({ urlDialog: { error: null } });
    },

    closeUrlDialog() {
      set({ urlDialog: null, ...abandonCheck('url', get().loading) });
    },

    async openUrl(url) {
      const trimmed = url.trim();
      if (!trimmed) return;
      const mine = ++generation;
      checking = { dialog: 'url', generation: mine };
      set({ loading: true, error: null, notice: null, urlDialog: { error: null } });
      try {
        const image = await api.request('image.inspect', { url: trimmed });
        if (mine !== generation) return;
        set({ image, loading: false, urlDialog: null, ...NO_CHECKSUM });
      } catch (error) {
        if (mine !== generation) return;
        // The dialog stays open with the reason, so the address can be corrected.
        set({ loading: false, urlDialog: { error: toSerializedError(error) } });
      }
    },

    async chooseEntry(entry) {
      const current = get().image;
      if (!current || !current.entries?.includes(entry)) return;
      const location = current.url !== undefined ? { url: current.url } : current.path !== undefined ? { path: current.path } : undefined;
      if (!location) return;
      const mine = ++generation;
      set({ loading: true, error: null });
      try {
        const image = await api.request('image.inspect', { ...location, entry });
        if (mine !== generation) return;
        // The list stays, so the choice can be changed.
        set({ image: { ...image, entries: current.entries, entry }, loading: false });
      } catch (error) {
        if (mine === generation) set({ loading: false, error: toSerializedError(error) });
      }
    },

    setChecksumText(text) {
      set({ checksumText: text, checksumInput: parseChecksumInput(text, get().image?.name) });
    },

    async showFlashed(fallback, entry) {
      const location = fallback.url !== undefined ? { url: fallback.url } : { path: fallback.path ?? '' };
      const mine = ++generation;
      set({ loading: true, error: null, notice: null });
      let image: ImageInfo = fallback;
      try {
        image = await api.request('image.inspect', { ...location, ...(entry !== undefined ? { entry } : {}) });
      } catch {
        // Moved or deleted since: its name still says what is being written.
      }
      // The joined flash's entry was chosen from the archive's list: kept as such, for a second try.
      if (mine === generation) set({ image: entry !== undefined ? { ...image, entries: image.entries ?? [entry], entry } : image, loading: false, ...NO_CHECKSUM });
    },

    offerEntries(flashed, names) {
      const current = get().image;
      if (!current || names.length < 2) return;
      if (current.url !== flashed.url || current.path !== flashed.path || current.entries?.length) return;
      const { entry: _written, ...rest } = current;
      set({ image: { ...rest, entries: names } });
    },

    clear() {
      generation++;
      set({ image: null, error: null, notice: null, loading: false, ...NO_CHECKSUM });
    },
  }));
}

/** Why Flash! must wait on the image step, or undefined when it need not. */
export function imageBlockReason(state: Pick<ImageState, 'image' | 'checksumInput'>): string | undefined {
  if (needsEntry(state.image)) return 'Choose which image in the archive to write.';
  if (state.checksumInput.kind === 'invalid') return 'Fix the expected SHA-256, or clear it.';
  return undefined;
}

export function imageBlocked(state: Pick<ImageState, 'image' | 'checksumInput'>): boolean {
  return imageBlockReason(state) !== undefined;
}
