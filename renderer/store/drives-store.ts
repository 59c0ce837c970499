// The target step: the drives the host's scanner reports (kept fresh by drives.changed) and which
// of them the user selected. Selection is by scanner id only, and an id disappears from the
// selection the moment its drive leaves the list or stops being suitable; `dropped` says which
// and why, until the person next changes the selection or dismisses it.

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BlockwiseApi, ImageInfo } from '../../shared/contract';
import { usableModel } from '../../shared/drive-name';
import type { DriveInfo } from '../../shared/drive-types';
import type { SerializedError } from '../../shared/errors';
import type { BackupResult, CapacityCheckResult } from '../../shared/flash-types';
import { toSerializedError } from '../request-failed';
import { viewDrives, type DriveView } from './drive-suitability';

/** A capacity check of one drive (drives.check): under way, its finding, or why it could not run. */
export type DriveCheck = { status: 'running'; percent?: number; cancelling?: boolean; stalledSeconds?: number } | { status: 'done'; result: CapacityCheckResult } | { status: 'failed'; error: SerializedError };

/**
 * A backup of one drive into a file (drives.backup): the form with the file suggested, under way
 * (reading the drive, then checking the saved file), saved, or why not (the form comes back).
 */
export type DriveBackup =
  | { status: 'form'; file: string }
  | { status: 'running'; file: string; phase: 'reading' | 'checking'; percent?: number; cancelling?: boolean }
  | { status: 'done'; result: BackupResult }
  | { status: 'failed'; file: string; error: SerializedError };

/** A check or backup of a drive that another window or tab started. */
export interface DriveTaskElsewhere {
  kind: 'check' | 'backup';
  percent?: number;
}

/** A drive taken out of the selection by the app, not by the person. */
export interface DroppedDrive {
  drive: DriveInfo;
  /** A sentence naming the drive and why it can no longer be written. */
  reason: string;
}

export interface DrivesState {
  drives: DriveInfo[];
  loaded: boolean;
  selected: string[];
  dropped: DroppedDrive[];
  dismissDropped(): void;
  dialogOpen: boolean;
  error: SerializedError | null;
  refresh(): Promise<void>;
  /** Replace the list (from drives.changed). */
  receive(drives: DriveInfo[]): void;
  toggleDrive(id: string): void;
  selectDrive(id: string): void;
  /** Exactly these, of those still listed and selectable (the failed drives of a flash, again). */
  selectDrives(ids: string[]): void;
  /** Capacity checks by drive id; a drive's entry goes when it leaves the list. */
  checks: Record<string, DriveCheck>;
  /** Checks a drive for fake capacity: its test blocks are written and read back, its data put back. */
  checkDrive(id: string): Promise<void>;
  /** drives.checkProgress: how far a running check is. */
  checkProgress(id: string, percent: number, stalledSeconds?: number): void;
  /** Stops a running check (drives.checkCancel); its drives.check then ends CANCELLED, data put back. */
  cancelCheck(id: string): Promise<void>;
  /** Backups by drive id; a drive's entry goes when it leaves the list. */
  backups: Record<string, DriveBackup>;
  /**
   * Checks and backups another window or tab runs (drives.tasks and their progress events), by
   * drive id: those drives are shown busy here too, and the host would refuse them meanwhile.
   */
  elsewhere: Record<string, DriveTaskElsewhere>;
  /** drives.tasks: the host's running checks and backups. */
  receiveTasks(running: Array<{ driveId: string; kind: 'check' | 'backup' }>): void;
  /** Cancels another tab's check or backup (that tab may be gone: closed, reloaded). */
  cancelElsewhere(id: string): Promise<void>;
  /** Shows the backup form, with a file the host suggests (drives.backupName). */
  openBackup(id: string): Promise<void>;
  setBackupFile(id: string, file: string): void;
  /** Electron: the native save dialog, opened at the file in the form (drives.backupPick). */
  chooseBackupFile(id: string): Promise<void>;
  /** Folds the form away (not a backup under way: that is cancelled with cancelBackup). */
  closeBackup(id: string): void;
  startBackup(id: string): Promise<void>;
  cancelBackup(id: string): Promise<void>;
  /** drives.backupProgress. */
  backupProgress(id: string, phase: 'reading' | 'checking', percent: number): void;
  openDialog(): void;
  closeDialog(): void;
  /** Drop selected ids that are gone or no longer selectable (new image, settings changed). */
  prune(image: ImageInfo | null): void;
}

/** What the target list shows: hidden drives only with "show all drives". */
export function visibleDrives(drives: DriveInfo[], image: ImageInfo | null, showAll: boolean, checks: Record<string, DriveCheck> = {}): DriveView[] {
  return viewDrives(drives, image, showAll, realCapacities(checks)).filter((view) => view.visible);
}

/** What the finished checks found drives to really store, for those that store less than they claim. */
export function realCapacities(checks: Record<string, DriveCheck>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [id, check] of Object.entries(checks)) if (check.status === 'done' && check.result.verdict !== 'genuine') out[id] = check.result.keeps;
  return out;
}

/**
 * Why Flash! must wait: a selected drive this window is backing up or checking (the host would
 * refuse the flash, TARGET_BUSY, and the whole flash would fail). Undefined when none is.
 */
export function selectedDriveBusy(state: Pick<DrivesState, 'drives' | 'selected' | 'checks' | 'backups' | 'elsewhere'>): string | undefined {
  for (const id of state.selected) {
    const drive = state.drives.find((d) => d.id === id);
    if (!drive) continue;
    const other = state.elsewhere[id];
    if (other) return `${drive.path} is being ${other.kind === 'backup' ? 'backed up to a file' : 'checked for fake capacity'} in another window or tab. Flash! waits until that is done; it can be cancelled in Select target.`;
    if (state.backups[id]?.status === 'running') return `${drive.path} is being backed up to a file. Flash! waits until the backup is done; it can be cancelled in Select target.`;
    if (state.checks[id]?.status === 'running') return `${drive.path} is being checked for fake capacity. Flash! waits until the check is done; it can be cancelled in Select target.`;
  }
  return undefined;
}

export interface DriveContext {
  image(): ImageInfo | null;
  showAllDrives(): boolean;
}

/**
 * A running check's or backup's Cancel: marked as cancelling while the host is asked. Where it
 * could not be asked, the task goes on (its end is shown as it comes) and Cancel is offered again.
 */
async function cancelTask(
  store: { get(): DrivesState; set(partial: Partial<DrivesState>): void },
  key: 'checks' | 'backups',
  id: string,
  request: () => Promise<unknown>,
): Promise<void> {
  const mark = (cancelling: boolean) => {
    const now = store.get()[key][id];
    if (now?.status === 'running') store.set({ [key]: { ...store.get()[key], [id]: { ...now, cancelling } } });
  };
  const task = store.get()[key][id];
  if (task?.status !== 'running' || task.cancelling) return;
  mark(true);
  try {
    await request();
  } catch {
    mark(false);
  }
}

export function createDrivesStore(api: BlockwiseApi, context: DriveContext): StoreApi<DrivesState> {
  // The store's own checks, once it exists (its verbs run later).
  let checksNow: () => Record<string, DriveCheck> = () => ({});
  const views = (drives: DriveInfo[], image = context.image()) => viewDrives(drives, image, context.showAllDrives(), realCapacities(checksNow()));
  // The last list each drive was in, so a drive that left it can still be named.
  let previous: DriveInfo[] = [];
  const store = createStore<DrivesState>()((set, get) => ({
    drives: [],
    loaded: false,
    selected: [],
    dropped: [],

    dismissDropped() {
      set({ dropped: [] });
    },
    dialogOpen: false,
    error: null,
    checks: {},
    backups: {},
    elsewhere: {},

    checkProgress(id, percent, stalledSeconds) {
      const check = get().checks[id];
      if (check === undefined || get().elsewhere[id]) noteElsewhere(id, 'check', percent);
      if (check?.status !== 'running') return;
      const { stalledSeconds: _was, ...rest } = check;
      set({ checks: { ...get().checks, [id]: { ...rest, percent, ...(stalledSeconds === undefined ? {} : { stalledSeconds }) } } });
    },

    cancelCheck(id) {
      return cancelTask({ get, set }, 'checks', id, () => api.request('drives.checkCancel', { driveId: id }));
    },

    async checkDrive(id) {
      if (get().checks[id]?.status === 'running') return;
      const put = (check: DriveCheck) => set({ checks: { ...get().checks, [id]: check } });
      put({ status: 'running' });
      try {
        put({ status: 'done', result: await api.request('drives.check', { driveId: id }) });
        // A drive found to store less than the image needs leaves the selection, saying so.
        get().prune(context.image());
      } catch (error) {
        put({ status: 'failed', error: toSerializedError(error) });
      }
    },

    async openBackup(id) {
      const now = get().backups[id];
      if (now?.status === 'running' || now?.status === 'form') return;
      const put = (backup: DriveBackup) => set({ backups: { ...get().backups, [id]: backup } });
      try {
        const { file } = await api.request('drives.backupName', { driveId: id });
        if (get().backups[id]?.status !== 'running') put({ status: 'form', file });
      } catch (error) {
        put({ status: 'failed', file: '', error: toSerializedError(error) });
      }
    },

    setBackupFile(id, file) {
      const now = get().backups[id];
      if (now?.status === 'form' || now?.status === 'failed') set({ backups: { ...get().backups, [id]: { status: 'form', file } } });
    },

    async chooseBackupFile(id) {
      const now = get().backups[id];
      if (now?.status !== 'form' && now?.status !== 'failed') return;
      try {
        const picked = await api.request('drives.backupPick', { file: now.file.trim() || '/' });
        if (picked) get().setBackupFile(id, picked.file);
      } catch (error) {
        const later = get().backups[id];
        if (later?.status === 'form' || later?.status === 'failed') set({ backups: { ...get().backups, [id]: { status: 'failed', file: later.file, error: toSerializedError(error) } } });
      }
    },

    closeBackup(id) {
      if (get().backups[id]?.status === 'running') return;
      const { [id]: _closed, ...rest } = get().backups;
      set({ backups: rest });
    },

    async startBackup(id) {
      const now = get().backups[id];
      if (now?.status !== 'form' && now?.status !== 'failed') return;
      const file = now.file.trim();
      const put = (backup: DriveBackup) => set({ backups: { ...get().backups, [id]: backup } });
      put({ status: 'running', file, phase: 'reading' });
      try {
        put({ status: 'done', result: await api.request('drives.backup', { driveId: id, file }) });
      } catch (error) {
        put({ status: 'failed', file, error: toSerializedError(error) });
      }
    },

    cancelBackup(id) {
      return cancelTask({ get, set }, 'backups', id, () => api.request('drives.backupCancel', { driveId: id }));
    },

    backupProgress(id, phase, percent) {
      const now = get().backups[id];
      if (now === undefined || get().elsewhere[id]) noteElsewhere(id, 'backup', percent);
      if (now?.status !== 'running') return;
      set({ backups: { ...get().backups, [id]: { ...now, phase, percent } } });
    },

    async refresh() {
      try {
        get().receive(await api.request('drives.list', {}));
        set({ error: null });
      } catch (error) {
        set({ error: toSerializedError(error) });
      }
    },

    receiveTasks(running) {
      const mine = (id: string, kind: 'check' | 'backup') => (kind === 'check' ? get().checks[id]?.status === 'running' : get().backups[id]?.status === 'running');
      const elsewhere: Record<string, DriveTaskElsewhere> = {};
      for (const { driveId, kind } of running) {
        if (mine(driveId, kind)) continue;
        const known = get().elsewhere[driveId];
        elsewhere[driveId] = known?.kind === kind ? known : { kind };
      }
      set({ elsewhere });
    },

    async cancelElsewhere(id) {
      const task = get().elsewhere[id];
      if (!task) return;
      try {
        await api.request(task.kind === 'backup' ? 'drives.backupCancel' : 'drives.checkCancel', { driveId: id });
      } catch {
        // Ended meanwhile: drives.tasks says so.
      }
    },

    receive(drives) {
      previous = get().drives;
      // A check's finding belongs to the drive that was checked: one unplugged forgets it.
      const listed = ([id]: [string, unknown]) => drives.some((d) => d.id === id);
      const checks = Object.fromEntries(Object.entries(get().checks).filter(listed));
      const backups = Object.fromEntries(Object.entries(get().backups).filter(listed));
      const elsewhere = Object.fromEntries(Object.entries(get().elsewhere).filter(listed));
      set({ drives, loaded: true, checks, backups, elsewhere });
      get().prune(context.image());
    },

    toggleDrive(id) {
      const view = views(get().drives).find((v) => v.drive.id === id);
      if (!view || !view.selectable) return;
      const selected = get().selected;
      set({ selected: selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id], dropped: [] });
    },

    selectDrive(id) {
      const view = views(get().drives).find((v) => v.drive.id === id);
      if (!view || !view.selectable) return;
      set({ selected: [id], dropped: [] });
    },

    selectDrives(ids) {
      const ok = new Set(views(get().drives).filter((v) => v.selectable).map((v) => v.drive.id));
      set({ selected: ids.filter((id) => ok.has(id)), dropped: [] });
    },

    openDialog() {
      set({ dialogOpen: true });
      void get().refresh();
    },

    closeDialog() {
      set({ dialogOpen: false });
    },

    prune(image) {
      const byId = new Map(views(get().drives, image).map((v) => [v.drive.id, v]));
      const selected = get().selected.filter((id) => byId.get(id)?.selectable);
      if (selected.length === get().selected.length) return;
      const dropped = get()
        .selected.filter((id) => !selected.includes(id))
        .map((id) => droppedDrive(byId.get(id), previous.find((d) => d.id === id)))
        .filter((d): d is DroppedDrive => d !== undefined);
      set({ selected, dropped: [...get().dropped.filter((d) => !dropped.some((n) => n.drive.id === d.drive.id)), ...dropped] });
    },
  }));
  checksNow = () => store.getState().checks;
  return store;

  // A progress event for a drive this tab is not checking or backing up: another tab's task (this
  // tab may have opened after its drives.tasks).
  function noteElsewhere(id: string, kind: 'check' | 'backup', percent: number): void {
    const elsewhere = store.getState().elsewhere;
    store.setState({ elsewhere: { ...elsewhere, [id]: { kind, percent } } });
  }
}

function droppedDrive(view: DriveView | undefined, gone: DriveInfo | undefined): DroppedDrive | undefined {
  if (!view) {
    if (!gone) return undefined;
    const model = usableModel(gone.model);
    const name = model ? `${model} (${gone.path})` : gone.path;
    return { drive: gone, reason: `${name} was unplugged or can no longer be found.` };
  }
  const why = view.reasons.find((r) => r.severity === 'error') ?? view.reasons.find((r) => r.severity === 'confirm');
  const hidden = !view.visible ? `${view.drive.path} is a system drive, hidden now that “Show all drives” is off.` : undefined;
  return { drive: view.drive, reason: hidden ?? why?.text ?? `${view.drive.path} can no longer be written.` };
}
