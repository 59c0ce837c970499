// "Use a URL": an http(s) address the host downloads and writes as the bytes arrive. The host
// checks the address before the dialog closes, so a typo or a 404 is reported here. While the
// button is disabled the dialog says why; the host's answer is shown only for the address it was
// about, so it goes away as soon as the address is edited.

import { useState } from 'react';
import { describeError } from '../../shared/errors';
import { useImage } from '../store/use-stores';
import { Modal } from './modal';

/** Why `typed` can't be checked yet, or undefined when it can. */
export function urlProblem(typed: string): string | undefined {
  const text = typed.trim();
  if (!text) return 'Type or paste the address of the image.';
  if (/\s/.test(text)) return 'An address cannot contain spaces.';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined || (!text.includes('://') && scheme !== 'http' && scheme !== 'https')) {
    return 'Start the address with https:// (or http://).';
  }
  if (scheme !== 'http' && scheme !== 'https') return `Only http:// and https:// addresses can be downloaded, not ${scheme}://.`;
  try {
    if (!new URL(text).hostname) return 'The address names no server after the //.';
  } catch {
    return 'This is not a complete address.';
  }
  return undefined;
}

export function UrlDialog() {
  const dialog = useImage((s) => s.urlDialog);
  const loading = useImage((s) => s.loading);
  const openUrl = useImage((s) => s.openUrl);
  const close = useImage((s) => s.closeUrlDialog);
  const [typed, setTyped] = useState('');
  // The address the host was last asked about: its answer belongs to that address only.
  const [asked, setAsked] = useState<string | null>(null);
  if (!dialog) return null;
  const problem = urlProblem(typed);
  const error = dialog.error && asked === typed.trim() ? dialog.error : null;
  const problemId = 'url-problem';

  const footer = (
    <>
      <button type="button" className="button button-quiet" onClick={close}>
        Cancel
      </button>
      <button type="submit" form="url-form" className="button button-primary" disabled={loading || problem !== undefined} aria-describedby={problem ? problemId : undefined}>
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
          if (problem) return;
          setAsked(typed.trim());
          void openUrl(typed);
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
            aria-describedby={problem ? problemId : undefined}
            aria-invalid={problem !== undefined && typed.trim() !== ''}
            autoFocus
          />
        </label>
        {problem && (
          <p className={typed.trim() ? 'field-problem' : 'field-help'} id={problemId} data-testid="url-problem">
            {problem}
          </p>
        )}
        <p className="field-help">The image streams straight to the drive while it downloads. Nothing is kept unless “Keep downloads” is on in Settings.</p>
      </form>
      {error && (
        <p className="inline-error" role="alert">
          {describeError(error)}
        </p>
      )}
    </Modal>
  );
}
