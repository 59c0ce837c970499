// React access to the stores: components select what they show and call the stores' verbs.

import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { AppStores } from './app-stores';
import type { CatalogState } from './catalog-store';
import type { DrivesState } from './drives-store';
import type { FlashState } from './flash-store';
import type { ImageState } from './image-store';
import type { SettingsState } from './settings-store';

export const StoresContext = createContext<AppStores | null>(null);

export function useStores(): AppStores {
  const stores = useContext(StoresContext);
  if (!stores) throw new Error('StoresContext is missing: render inside <StoresContext.Provider>.');
  return stores;
}

export const useImage = <T>(selector: (state: ImageState) => T): T => useStore(useStores().image, selector);
export const useDrives = <T>(selector: (state: DrivesState) => T): T => useStore(useStores().drives, selector);
export const useFlash = <T>(selector: (state: FlashState) => T): T => useStore(useStores().flash, selector);
export const useSettings = <T>(selector: (state: SettingsState) => T): T => useStore(useStores().settings, selector);
export const useConnection = (): string => useStore(useStores().connection, (s) => s.state);
export const useCatalog = <T>(selector: (state: CatalogState) => T): T => useStore(useStores().catalog, selector);
