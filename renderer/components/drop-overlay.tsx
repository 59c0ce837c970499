// Drag-and-drop of an image anywhere on the window. Under Electron the preload reveals the file's
// path; a browser never does, and the image store explains that instead.

import { useEffect, useState } from 'react';
import { isBusy } from '../store/flash-store';
import { useFlash, useImage, useStores } from '../store/use-stores';

export function DropOverlay() {
  const { pathForFile } = useStores();
  const dropFiles = useImage((s) => s.dropFiles);
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
      if (e.dataTransfer) e.dataTransfer.dropEffect = busy ? 'none' : 'copy';
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
  }, [busy, dropFiles, pathForFile]);

  if (!over) return null;
  return (
    <div className="drop-overlay" aria-hidden="true">
      <div className="drop-card">Drop the image to select it</div>
    </div>
  );
}
