import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeWebContents } from './fake-electron';
import { guardNavigation } from './navigation-guard';
import { externalUrlAllowed, getMainWindowOptions } from './window-options';

describe('main window security', () => {
  it('isolates and sandboxes the renderer', () => {
    const options = getMainWindowOptions('/app/dist/electron/preload/index.js');
    const web = options.webPreferences!;
    assert.equal(web.preload, '/app/dist/electron/preload/index.js');
    assert.equal(web.contextIsolation, true);
    assert.equal(web.sandbox, true);
    assert.equal(web.nodeIntegration, false);
    assert.equal(web.nodeIntegrationInWorker, false);
    assert.equal(web.nodeIntegrationInSubFrames, false);
    assert.equal(web.webSecurity, true);
    assert.equal(web.allowRunningInsecureContent, false);
    assert.equal(web.webviewTag, false);
    assert.equal(web.navigateOnDragDrop, false);
    assert.equal(options.show, false);
  });

  it('opens only http and https links outside the app', () => {
    assert.equal(externalUrlAllowed('https://example.org/guide'), true);
    assert.equal(externalUrlAllowed('http://example.org/'), true);
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'ms-settings:', 'not a url', '']) {
      assert.equal(externalUrlAllowed(url), false, url);
    }
  });

  it('blocks navigation and new windows; hands web links to the browser', () => {
    const contents = new FakeWebContents();
    const opened: string[] = [];
    const appUrl = 'file:///app/dist/renderer/index.html';
    guardNavigation(contents, appUrl, (url) => opened.push(url));
    assert.equal(contents.tryNavigate('will-navigate', 'https://evil.example/'), true);
    assert.equal(contents.tryNavigate('will-navigate', 'file:///home/user/image.img'), true);
    assert.equal(contents.tryNavigate('will-redirect', 'https://evil.example/'), true);
    assert.equal(contents.tryNavigate('will-navigate', appUrl), false, 'reloading the app itself is fine');
    assert.deepEqual(contents.openHandler?.({ url: 'https://www.raspberrypi.com/software/' }), { action: 'deny' });
    assert.deepEqual(contents.openHandler?.({ url: 'file:///etc/shadow' }), { action: 'deny' });
    assert.deepEqual(opened, ['https://www.raspberrypi.com/software/']);
    let prevented = false;
    contents.emit('will-attach-webview', { preventDefault: () => (prevented = true) });
    assert.equal(prevented, true);
  });
});
