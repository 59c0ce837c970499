// The native "open image" dialog (image.pick), owned by main so the renderer never gets a
// general file-system API; the chosen file is inspected before the renderer sees it.

import type { ImageInfo } from '../../shared/contract';
import { inspectImage } from '../host/image-inspector';

/** The part of Electron's dialog module used here. */
export interface DialogLike {
  showOpenDialog(window: unknown, options: { title: string; properties: string[]; filters: Array<{ name: string; extensions: string[] }> }): Promise<{ canceled: boolean; filePaths: string[] }>;
}

export const IMAGE_EXTENSIONS = ['img', 'iso', 'raw', 'bin', 'wic', 'gz', 'xz', 'zst', 'bz2', 'zip', 'tar'];

export async function pickImage(dialog: DialogLike, window: unknown, inspect = inspectImage): Promise<ImageInfo | null> {
  const choice = await dialog.showOpenDialog(window, {
    title: 'Select image',
    properties: ['openFile'],
    filters: [
      { name: 'Disk images', extensions: IMAGE_EXTENSIONS },
      { name: 'All files', extensions: ['*'] },
    ],
  });
  const file = choice.filePaths[0];
  if (choice.canceled || !file) return null;
  return inspect(file);
}
