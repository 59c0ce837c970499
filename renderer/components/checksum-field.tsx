// "Expected SHA-256": folded away until wanted (most people have none to paste), open while it
// holds text. The hash is checked against the download or the image inside, whichever it matches.

import { useEffect, useState } from 'react';
import type { ChecksumInput } from '../../shared/checksum-input';

interface ChecksumFieldProps {
  text: string;
  input: ChecksumInput;
  /** A hash published beside the image; it is checked anyway, this only says so. */
  published: string | undefined;
  disabled: boolean;
  onChange(text: string): void;
}

export function ChecksumField({ text, input, published, disabled, onChange }: ChecksumFieldProps) {
  const problemId = 'checksum-problem';
  // Open while it holds text, and for as long as the person keeps it open (a new image starts it
  // afresh, folded): emptied to paste another hash, it used to fold away under their cursor, taking
  // the keyboard focus with it.
  const [open, setOpen] = useState(text !== '');
  useEffect(() => {
    if (text !== '') setOpen(true);
  }, [text]);
  return (
    <details className="checksum" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Check against a SHA-256</summary>
      <label className="field">
        <span className="field-label">Expected SHA-256</span>
        <input
          className="text-input"
          value={text}
          disabled={disabled}
          placeholder={published ? 'The published one is checked already' : 'Paste the checksum from the download page'}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={input.kind === 'invalid'}
          aria-describedby={input.kind === 'invalid' ? problemId : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      </label>
      {input.kind === 'invalid' && (
        <p className="field-problem" id={problemId} role="alert">
          {input.reason}
        </p>
      )}
      {input.kind === 'valid' && <p className="field-ok">Checked while writing; a mismatch fails the flash.</p>}
    </details>
  );
}
