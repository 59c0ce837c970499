import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_SETTINGS, SettingsStore } from './settings-store';

describe('settings store', () => {
  it('starts from defaults, persists changes, and survives a damaged file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-settings-'));
    try {
      const store = new SettingsStore(path.join(dir, 'cfg'));
      assert.deepEqual(await store.get(), DEFAULT_SETTINGS);
      await store.set({ ejectWhenDone: true });
      assert.deepEqual(await new SettingsStore(path.join(dir, 'cfg')).get(), { ...DEFAULT_SETTINGS, ejectWhenDone: true });
      assert.equal(JSON.parse(readFileSync(store.file, 'utf8')).ejectWhenDone, true);

      writeFileSync(store.file, '{"verify": fal');
      assert.deepEqual(await new SettingsStore(path.join(dir, 'cfg')).get(), DEFAULT_SETTINGS);

      mkdirSync(path.join(dir, 'cfg2'));
      writeFileSync(path.join(dir, 'cfg2', 'settings.json'), JSON.stringify({ verify: false, fullWrite: 'yes', extra: 1 }));
      assert.deepEqual(await new SettingsStore(path.join(dir, 'cfg2')).get(), { ...DEFAULT_SETTINGS, verify: false }, 'one bad field does not reset the rest');

      // A catalog address that is no web address (hand-edited, say) falls back alone too.
      mkdirSync(path.join(dir, 'cfg3'));
      writeFileSync(path.join(dir, 'cfg3', 'settings.json'), JSON.stringify({ verify: false, catalogUrl: 'file:///etc/passwd' }));
      assert.deepEqual(await new SettingsStore(path.join(dir, 'cfg3')).get(), { ...DEFAULT_SETTINGS, verify: false });
      writeFileSync(path.join(dir, 'cfg3', 'settings.json'), JSON.stringify({ catalogUrl: 'https://images.example.org/os_list.json' }));
      assert.equal((await new SettingsStore(path.join(dir, 'cfg3')).get()).catalogUrl, 'https://images.example.org/os_list.json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
