// The progress view before the engine's first report: the line under the bar says what it is
// waiting for (the image being opened, or the server of a download), not "Starting…" a second time
// under the "Starting…" heading.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderToStaticMarkup } from 'react-dom/server';
import { DEFAULT_SETTINGS } from '../../shared/contract';
import { createAppStores } from '../store/app-stores';
import { FakeApi } from '../store/fake-api';
import { drive } from '../store/test-drives';
import { StoresContext } from '../store/use-stores';
import { FlashProgressView } from './flash-progress-view';

function startingView(image: { path?: string; url?: string }): string {
  const api = new FakeApi().handle('drives.list', () => []).handle('settings.get', () => ({ ...DEFAULT_SETTINGS })).handle('flash.jobs', () => []);
  const stores = createAppStores({ api, kind: 'browser' });
  stores.flash.setState({ status: 'starting', progress: null, image: { ...image, name: 'os.img.xz', storedSize: 1, formats: ['xz'] }, targets: [drive({ id: 'loop1' })] });
  // Rendered on the "server", zustand reads a store's initial state: make that the state set here.
  const starting = stores.flash.getState();
  stores.flash.getInitialState = () => starting;
  const html = renderToStaticMarkup(
    <StoresContext.Provider value={stores}>
      <FlashProgressView />
    </StoresContext.Provider>,
  );
  return html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
}

test('before the first report, a file is being opened', () => {
  const text = startingView({ path: '/images/os.img.xz' });
  assert.match(text, /Starting… 0% .*Opening the image…/);
  assert.equal(text.match(/Starting…/g)?.length, 1);
});

test('before the first report, a download is connecting to its server', () => {
  const text = startingView({ url: 'https://downloads.example.org/os.img.xz' });
  assert.match(text, /Connecting to downloads\.example\.org…/);
  assert.equal(text.match(/Starting…/g)?.length, 1);
});
