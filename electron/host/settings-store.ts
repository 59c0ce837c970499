// The user's settings as a small JSON file in the config dir. A missing or damaged file means
// defaults (never a crash at startup); writes go to a temp file then rename, so a crash mid-write
// cannot leave half a file.

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SETTINGS, type Settings } from '../../shared/contract';
import { settingsFieldValid, settingsSchema } from '../../shared/contract-schemas';

export { DEFAULT_SETTINGS };

/** $BLOCKWISE_CONFIG_DIR, else the platform's config folder + /blockwise. */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BLOCKWISE_CONFIG_DIR) return env.BLOCKWISE_CONFIG_DIR;
  if (process.platform === 'win32' && env.APPDATA) return path.join(env.APPDATA, 'Blockwise');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'Blockwise');
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'blockwise');
}

export class SettingsStore {
  private current: Settings | undefined;
  readonly file: string;

  constructor(readonly dir: string = defaultConfigDir()) {
    this.file = path.join(dir, 'settings.json');
  }

  async get(): Promise<Settings> {
    if (!this.current) this.current = await this.load();
    return { ...this.current };
  }

  async set(patch: Partial<Settings>): Promise<Settings> {
    const next = { ...(await this.get()), ...patch };
    await fsp.mkdir(this.dir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 });
    await fsp.rename(tmp, this.file);
    this.current = next;
    return { ...next };
  }

  private async load(): Promise<Settings> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch {
      return { ...DEFAULT_SETTINGS };
    }
    try {
      // Unknown or mistyped fields fall back one by one, so one bad value doesn't reset the rest.
      const raw = JSON.parse(text) as Record<string, unknown>;
      const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
      for (const key of Object.keys(DEFAULT_SETTINGS) as Array<keyof Settings>) {
        if (typeof raw[key] === typeof DEFAULT_SETTINGS[key] && settingsFieldValid(key, raw[key])) merged[key] = raw[key];
      }
      return settingsSchema.parse(merged);
    } catch {
      console.error(`blockwise: ${this.file} is not valid settings JSON; using defaults.`);
      return { ...DEFAULT_SETTINGS };
    }
  }
}
