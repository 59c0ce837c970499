// Settings as the host stores them; changes show at once and are sent to the host, which answers
// with the settings it kept (the truth wins if it differs).

import { createStore, type StoreApi } from 'zustand/vanilla';
import { DEFAULT_SETTINGS, type BlockwiseApi, type Settings } from '../../shared/contract';
import type { SerializedError } from '../../shared/errors';
import { toSerializedError } from '../request-failed';

export interface SettingsState {
  settings: Settings;
  loaded: boolean;
  open: boolean;
  error: SerializedError | null;
  load(): Promise<void>;
  update(change: Partial<Settings>): Promise<void>;
  setOpen(open: boolean): void;
}

export function createSettingsStore(api: BlockwiseApi): StoreApi<SettingsState> {
  return createStore<SettingsState>()((set, get) => ({
    settings: { ...DEFAULT_SETTINGS },
    loaded: false,
    open: false,
    error: null,

    async load() {
      try {
        set({ settings: await api.request('settings.get', {}), loaded: true, error: null });
      } catch (error) {
        set({ error: toSerializedError(error) });
      }
    },

    async update(change) {
      const before = get().settings;
      set({ settings: { ...before, ...change }, error: null });
      try {
        set({ settings: await api.request('settings.set', change) });
      } catch (error) {
        set({ settings: before, error: toSerializedError(error) });
      }
    },

    setOpen(open) {
      set({ open });
    },
  }));
}
