// Step 1: choose the image — a file, or an address on the web. Shows what the host found out
// about it, lets the person pick one image out of a zip that holds several, and take a SHA-256 to
// check the image against (a published one is shown when the host found it beside the image).

import { describeError } from '../../shared/errors';
import { describeFormats, formatBytes } from '../format';
import { isBusy } from '../store/flash-store';
import { useCatalog, useFlash, useImage, useStores } from '../store/use-stores';
import { ChecksumField } from './checksum-field';
import { EntryChooser } from './entry-chooser';
import { openFileBrowser } from './file-browser-dialog';
import { ImageIcon } from './icons';
import { StepCard } from './step-card';

export function ImageStep() {
  const image = useImage((s) => s.image);
  const loading = useImage((s) => s.loading);
  const error = useImage((s) => s.error);
  const notice = useImage((s) => s.notice);
  const checksumText = useImage((s) => s.checksumText);
  const checksumInput = useImage((s) => s.checksumInput);
  const pickImage = useImage((s) => s.pickImage);
  const stores = useStores();
  const openUrlDialog = useImage((s) => s.openUrlDialog);
  const openCatalog = useCatalog((s) => s.openDialog);
  const catalogChoice = useImage((s) => s.catalogChoice);
  const chooseEntry = useImage((s) => s.chooseEntry);
  const setChecksumText = useImage((s) => s.setChecksumText);
  const busy = useFlash((s) => isBusy(s.status));
  // Electron: a native dialog, and dropped files whose paths it knows. A browser has neither.
  const native = useImage((s) => s.nativeDialog);
  const host = image?.url ? new URL(image.url).host : undefined;
  const fromCatalog = image?.url !== undefined && catalogChoice?.url === image.url ? catalogChoice.name : undefined;

  return (
    <StepCard number={1} title="Image" icon={<ImageIcon />} state={image ? 'done' : 'ready'}>
      {image ? (
        <div className="chosen" data-testid="image-summary">
          <p className="chosen-name" title={image.url ?? image.path}>
            {image.name}
          </p>
          <p className="chosen-meta">
            {describeFormats(image.formats)} · {image.storedSize > 0 ? formatBytes(image.storedSize) : 'size unknown'}
            {image.imageSize !== undefined && image.imageSize !== image.storedSize && <> · {formatBytes(image.imageSize)} unpacked</>}
          </p>
          {fromCatalog && (
            <p className="chosen-source" data-testid="catalog-choice">
              From the catalog: {fromCatalog}
            </p>
          )}
          {host && <p className="chosen-source">Downloads from {host} while writing</p>}
          {(image.hasBmap || image.checksum) && (
            <p className="chosen-extra">
              {image.hasBmap && <span className="pill">.bmap found</span>}
              {image.checksum && (
                <span className="pill pill-good" title={`SHA-256 ${image.checksum}${image.checksumFile ? ` from ${image.checksumFile}` : ''}`} data-testid="published-checksum">
                  SHA-256 {image.checksum.slice(0, 8)}… published
                </span>
              )}
            </p>
          )}
          {image.entries && image.entries.length > 1 && (
            <EntryChooser entries={image.entries} chosen={image.entry} disabled={busy || loading} onChoose={(entry) => void chooseEntry(entry)} />
          )}
          <ChecksumField key={image.url ?? image.path} text={checksumText} input={checksumInput} published={image.checksum} disabled={busy} onChange={setChecksumText} />
        </div>
      ) : (
        <p className="step-hint">An .img, .iso, or a compressed image or archive (.gz, .xz, .zst, .bz2, .zip, .tar), on this computer, on the web, or from a catalog of operating systems.{native && ' You can also drop it here.'}</p>
      )}
      {error && (
        <p className="inline-error" role="alert">
          {describeError(error)}
        </p>
      )}
      {notice && (
        <p className="inline-notice" role="status">
          {notice}
        </p>
      )}
      <div className="step-actions">
        <button type="button" className={image ? 'button button-quiet' : 'button button-primary'} onClick={() => void (native ? pickImage() : openFileBrowser(stores.image))} disabled={busy || loading} aria-busy={loading}>
          Select image
        </button>
        <button type="button" className="button-link" onClick={openUrlDialog} disabled={busy || loading}>
          Use a URL
        </button>
        <button type="button" className="button-link" onClick={openCatalog} disabled={busy || loading}>
          Choose from a catalog
        </button>
      </div>
    </StepCard>
  );
}
