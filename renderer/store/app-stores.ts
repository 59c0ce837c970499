// Builds the four stores around one transport and wires contract events into them. Created once
// by main.tsx; tests build their own around a fake API.

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Transport } from '../api';
import type { ConnectionState } from '../ws-client';
import { createCatalogStore, type CatalogState } from './catalog-store';
import { viewDrives } from './drive-suitability';
import { createDrivesStore, realCapacities, type DrivesState } from './drives-store';
import { createFlashStore, type FlashState } from './flash-store';
import { createImageStore, imageBlocked, type ImageState } from './image-store';
import { createSettingsStore, type SettingsState } from './settings-store';

export interface AppStores {
  image: StoreApi<ImageState>;
  drives: StoreApi<DrivesState>;
  flash: StoreApi<FlashState>;
  settings: StoreApi<SettingsState>;
  catalog: StoreApi<CatalogState>;
  /** The browser host's socket; always 'open' under Electron. */
  connection: StoreApi<{ state: ConnectionState }>;
  pathForFile(file: File): string | undefined;
  /** Shows a flash under way that was started elsewhere (another tab or window), as a reload would. */
  followJob(jobId: string): void;
  /** Unsubscribes every event listener. */
  dispose(): void;
}

export function createAppStores(transport: Transport): AppStores {
  const { api } = transport;
  const image = createImageStore(api, transport.kind === 'electron');
  const settings = createSettingsStore(api);
  const catalog = createCatalogStore(api, {
    chooseImage: (entry) => image.getState().openCatalogImage(entry),
    abandonImage: () => image.getState().abandonCatalogImage(),
    remember: (url) => void settings.getState().update({ catalogUrl: url }),
  });
  const drives = createDrivesStore(api, {
    image: () => image.getState().image,
    showAllDrives: () => settings.getState().settings.showAllDrives,
  });
  const chosen = () => {
    const { drives: list, selected } = drives.getState();
    return list.filter((drive) => selected.includes(drive.id));
  };
  const flash = createFlashStore(api, {
    image: () => image.getState().image,
    targets: chosen,
    needingConfirm: () => {
      const ids = new Set(chosen().map((d) => d.id));
      const views = viewDrives(drives.getState().drives, image.getState().image, settings.getState().settings.showAllDrives, realCapacities(drives.getState().checks));
      return views.filter((v) => ids.has(v.drive.id) && v.needsConfirm).map((v) => v.drive);
    },
    checksum: () => {
      const input = image.getState().checksumInput;
      return input.kind === 'valid' ? input.hex : undefined;
    },
    blocked: () => imageBlocked(image.getState()),
  });

  // The job this tab shows, kept across a reload of the tab (sessionStorage) until its result is
  // dismissed: reloaded, the tab shows it again, even if it ended meanwhile.
  const followed = followedJobMemory();
  // A flash under way in the host (this tab was reloaded, or another one started it) is followed;
  // `wanted`, that one (the person asked to see it).
  const rejoin = (wanted?: string) => {
    api.request('flash.jobs', {}).then(
      (jobs) => {
        const before = flash.getState().jobId;
        flash.getState().rejoin(jobs, wanted ?? followed.get());
        const { jobId, image: flashed } = flash.getState();
        const job = jobs.find((j) => j.jobId === jobId);
        if (!job || jobId === before || !flashed) return;
        // Joined: the steps show what it writes, as if chosen here.
        // Selected once the list holds them: a selection checked against an empty list is pruned.
        void drives
          .getState()
          .refresh()
          .then(() => drives.setState({ selected: job.driveIds.filter((id) => drives.getState().drives.some((d) => d.id === id)) }));
        void image.getState().showFlashed(flashed, job.entry);
      },
      () => undefined, // the connection dropped again: the next 'open' asks again
    );
  };

  const connection = createStore<{ state: ConnectionState }>()(() => ({ state: transport.onConnection ? 'connecting' : 'open' }));

  const offs = [
    api.on('drives.changed', (list) => drives.getState().receive(list)),
    api.on('drives.checkProgress', (event) => drives.getState().checkProgress(event.driveId, event.percent, event.stalledSeconds)),
    api.on('drives.backupProgress', (event) => drives.getState().backupProgress(event.driveId, event.phase, event.percent)),
    api.on('drives.tasks', (event) => drives.getState().receiveTasks(event.running)),
    api.on('flash.progress', (event) => flash.getState().onProgress(event)),
    api.on('flash.done', (event) => flash.getState().onDone(event)),
    api.on('flash.error', (event) => flash.getState().onError(event)),
    // A new image may make a selected drive too small, or be stored on it.
    image.subscribe((state, previous) => {
      if (state.image !== previous.image) drives.getState().prune(state.image);
    }),
    flash.subscribe((state, previous) => {
      if (state.jobId !== null && state.jobId !== previous.jobId) followed.set(state.jobId);
      if (state.status === 'idle' && previous.status !== 'idle') followed.set(undefined);
    }),
    // A streamed archive (a zip from a server without ranges, a tar) turned out to hold several
    // images: the step offers them, so that Back leads straight to choosing one.
    flash.subscribe((state, previous) => {
      const entries = state.error?.details?.entries;
      if (state.error === previous.error || state.error?.code !== 'ARCHIVE_AMBIGUOUS' || typeof entries !== 'string' || !state.image) return;
      image.getState().offerEntries(state.image, entries.split('\n'));
    }),
    // Turning "show all drives" off must drop a system drive that was ticked while it was on.
    settings.subscribe((state, previous) => {
      if (state.settings.showAllDrives !== previous.settings.showAllDrives) drives.getState().prune(image.getState().image);
    }),
  ];
  if (transport.onConnection) {
    offs.push(
      transport.onConnection((state) => {
        connection.setState({ state });
        if (state === 'open') {
          void drives.getState().refresh();
          void settings.getState().load();
          rejoin();
        }
      }),
    );
  } else {
    void drives.getState().refresh();
    void settings.getState().load();
    rejoin();
  }

  return {
    image,
    drives,
    flash,
    settings,
    catalog,
    connection,
    pathForFile: (file) => transport.pathForFile?.(file),
    followJob: (jobId) => rejoin(jobId),
    dispose: () => offs.forEach((off) => off()),
  };
}

const FOLLOWED_KEY = 'blockwise.followedJob';

/** sessionStorage where there is one (a browser tab, Electron's window); nothing in Node's tests. */
function followedJobMemory(): { get(): string | undefined; set(jobId: string | undefined): void } {
  let storage: Storage | undefined;
  try {
    storage = typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  } catch {
    storage = undefined; // storage disabled
  }
  return {
    get: () => storage?.getItem(FOLLOWED_KEY) ?? undefined,
    set: (jobId) => {
      try {
        if (jobId === undefined) storage?.removeItem(FOLLOWED_KEY);
        else storage?.setItem(FOLLOWED_KEY, jobId);
      } catch {
        // full or disabled: a reload then shows the three steps, as without it
      }
    },
  };
}
