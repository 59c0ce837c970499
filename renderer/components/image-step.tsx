// Step 1: choose the image. Shows what the host found out about it once chosen.

import { describeError } from '../../shared/errors';
import { describeFormats, formatBytes } from '../format';
import { isBusy } from '../store/flash-store';
import { useFlash, useImage } from '../store/use-stores';
import { ImageIcon } from './icons';
import { StepCard } from './step-card';

export function ImageStep() {
  const image = useImage((s) => s.image);
  const loading = useImage((s) => s.loading);
  const error = useImage((s) => s.error);
  const notice = useImage((s) => s.notice);
  const pickImage = useImage((s) => s.pickImage);
  const busy = useFlash((s) => isBusy(s.status));

  return (
    <StepCard number={1} title="Image" icon={<ImageIcon />} state={image ? 'done' : 'ready'}>
      {image ? (
        <div className="chosen" data-testid="image-summary">
          <p className="chosen-name" title={image.path}>
            {image.name}
          </p>
          <p className="chosen-meta">
            {describeFormats(image.formats)} · {formatBytes(image.storedSize)}
            {image.imageSize !== undefined && image.imageSize !== image.storedSize && <> · {formatBytes(image.imageSize)} unpacked</>}
          </p>
          {(image.hasBmap || image.checksum) && (
            <p className="chosen-extra">
              {image.hasBmap && <span className="pill">.bmap found</span>}
              {image.checksum && <span className="pill">checksum found</span>}
            </p>
          )}
        </div>
      ) : (
        <p className="step-hint">An .img, .iso, or a compressed image (.gz, .xz, .zst, .bz2, .zip). You can also drop it here.</p>
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
      <button type="button" className={image ? 'button button-quiet' : 'button button-primary'} onClick={() => void pickImage()} disabled={busy || loading} aria-busy={loading}>
        Select image
      </button>
    </StepCard>
  );
}
