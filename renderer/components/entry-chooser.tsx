// Which image of a zip that holds several: a labelled select, nothing chosen until the person
// chooses (guessing could write the wrong one).

interface EntryChooserProps {
  entries: string[];
  chosen: string | undefined;
  disabled: boolean;
  onChoose(entry: string): void;
}

export function EntryChooser({ entries, chosen, disabled, onChoose }: EntryChooserProps) {
  return (
    <label className={`field${chosen ? '' : ' field-attention'}`}>
      <span className="field-label">Image in the archive</span>
      <select className="select-input" value={chosen ?? ''} disabled={disabled} onChange={(e) => e.target.value && onChoose(e.target.value)}>
        {!chosen && (
          <option value="" disabled>
            Choose one of {entries.length} images…
          </option>
        )}
        {entries.map((entry) => (
          <option key={entry} value={entry}>
            {entry}
          </option>
        ))}
      </select>
    </label>
  );
}
