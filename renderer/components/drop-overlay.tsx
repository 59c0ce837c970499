// Drag-and-drop of an image anywhere on the window. Under Electron the preload reveals the file's
// path; a browser never does, so in the browser host the overlay says so while the file is dragged
// (and refuses the drop), instead of inviting a drop that cannot work. Nor is one invited while a
// flash runs.

import { useEffect, useState } from 'react';
import { isBusy } from '../store/flash-store';
import { useFlash, useImage, useStores } from '../store/use-stores';

export function DropOverlay() {
  const { pathForFile } = useStores();
  const dropFiles = useImage((s) => s.dropFiles);
  // Electron's native dialog and its knowledge of a dropped file's path come together.
  const canDrop = useImage((s) => s.nativeDialog);
  const busy = useFlash((s) => isBusy(s.status));
  const [over, setOver] = useState(false);

  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent) => Boolean(e.dataTransfer?.types.includes('Files'));
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      setOver(true);
    };
    const overHandler = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = busy || !canDrop ? 'none' : 'copy';
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      depth = 0;
      setOver(false);
      if (busy) return;
      const files = [...(e.dataTransfer?.files ?? [])].map((file) => ({ name: file.name, path: pathForFile(file) }));
      void dropFiles(files);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', overHandler);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', overHandler);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [busy, canDrop, dropFiles, pathForFile]);

  if (!over) return null;
  // While flashing, a drop is refused (the image cannot change under a running flash): the overlay
  // says so, instead of inviting a drop that then does nothing.
  if (busy) {
    return (
      <div className="drop-overlay drop-refused" aria-hidden="true">
        <div className="drop-card">
          Blockwise is flashing, so the image cannot change now.
          <span className="drop-card-help">Choose the next one when this flash has ended.</span>
        </div>
      </div>
    );
  }
  return (
    <div className={`drop-overlay${canDrop ? '' : ' drop-refused'}`} aria-hidden="true">
      {canDrop ? (
        <div className="drop-card">Drop the image to select it</div>
      ) : (
        <div className="drop-card">
          A browser keeps a dropped file’s location private, so Blockwise cannot open it this way.
          <span className="drop-card-help">Use “Select image” to find it on this computer.</span>
        </div>
      )}
    </div>
  );
}
