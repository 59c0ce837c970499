// "Use a URL": an http(s) address the host downloads and writes as the bytes arrive. The host
// checks the address before the dialog closes, so a typo or a 404 is reported here.

import { useState } from 'react';
import { describeError } from '../../shared/errors';
import { useImage } from '../store/use-stores';
import { Modal } from './modal';

export function UrlDialog() {
  const dialog = useImage((s) => s.urlDialog);
  const loading = useImage((s) => s.loading);
  const openUrl = useImage((s) => s.openUrl);
  const close = useImage((s) => s.closeUrlDialog);
  const [typed, setTyped] = useState('');
  if (!dialog) return null;
  const looksLikeWeb = /^https?:\/\/\S+$/i.test(typed.trim());

  const footer = (
    <>
      <button type="button" className="button button-quiet" onClick={close}>
        Cancel
      </button>
      <button type="submit" form="url-form" className="button button-primary" disabled={loading || !looksLikeWeb}>
        {loading ? 'Checking…' : 'Use this image'}
      </button>
    </>
  );

  return (
    <Modal title="Use an image from the web" onClose={close} footer={footer} size="small">
      <form
        id="url-form"
        className="url-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (looksLikeWeb) void openUrl(typed);
        }}
      >
        <label className="field">
          <span className="field-label">Image URL</span>
          <input
            className="text-input"
            type="url"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            placeholder="https://downloads.example.org/os.img.xz"
            spellCheck={false}
            autoComplete="off"
            autoFocus
          />
        </label>
        <p className="field-help">The image streams straight to the drive while it downloads. Nothing is kept unless “Keep downloads” is on in Settings.</p>
      </form>
      {dialog.error && (
        <p className="inline-error" role="alert">
          {describeError(dialog.error)}
        </p>
      )}
    </Modal>
  );
}
