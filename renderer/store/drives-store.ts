// The target step: the drives the host's scanner reports (kept fresh by drives.changed) and which
// of them the user selected. Selection is by scanner id only, and an id disappears from the
// selection the moment its drive leaves the list or stops being suitable.

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BlockwiseApi, ImageInfo } from '../../shared/contract';
import type { DriveInfo } from '../../shared/drive-types';
import type { SerializedError } from '../../shared/errors';
import { toSerializedError } from '../request-failed';
import { viewDrives, type DriveView } from './drive-suitability';

export interface DrivesState {
  drives: DriveInfo[];
  loaded: boolean;
  selected: string[];
  dialogOpen: boolean;
  error: SerializedError | null;
  refresh(): Promise<void>;
  /** Replace the list (from drives.changed). */
  receive(drives: DriveInfo[]): void;
  toggleDrive(id: string): void;
  selectDrive(id: string): void;
  openDialog(): void;
  closeDialog(): void;
  /** Drop selected ids that are gone or no longer selectable (new image, settings changed). */
  prune(image: ImageInfo | null): void;
}

/** What the target list shows: hidden drives only with "show all drives". */
export function visibleDrives(drives: DriveInfo[], image: ImageInfo | null, showAll: boolean): DriveView[] {
  return viewDrives(drives, image, showAll).filter((view) => view.visible);
}

export interface DriveContext {
  image(): ImageInfo | null;
  showAllDrives(): boolean;
}

export function createDrivesStore(api: BlockwiseApi, context: DriveContext): StoreApi<DrivesState> {
  const views = (drives: DriveInfo[], image = context.image()) => viewDrives(drives, image, context.showAllDrives());
  return createStore<DrivesState>()((set, get) => ({
    drives: [],
    loaded: false,
    selected: [],
    dialogOpen: false,
    error: null,

    async refresh() {
      try {
        get().receive(await api.request('drives.list', {}));
        set({ error: null });
      } catch (error) {
        set({ error: toSerializedError(error) });
      }
    },

    receive(drives) {
      set({ drives, loaded: true });
      get().prune(context.image());
    },

    toggleDrive(id) {
      const view = views(get().drives).find((v) => v.drive.id === id);
      if (!view || !view.selectable) return;
      const selected = get().selected;
      set({ selected: selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id] });
    },

    selectDrive(id) {
      const view = views(get().drives).find((v) => v.drive.id === id);
      if (!view || !view.selectable) return;
      set({ selected: [id] });
    },

    openDialog() {
      set({ dialogOpen: true });
      void get().refresh();
    },

    closeDialog() {
      set({ dialogOpen: false });
    },

    prune(image) {
      const ok = new Set(views(get().drives, image).filter((v) => v.selectable).map((v) => v.drive.id));
      const selected = get().selected.filter((id) => ok.has(id));
      if (selected.length !== get().selected.length) set({ selected });
    },
  }));
}
