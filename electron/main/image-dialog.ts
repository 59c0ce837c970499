// The native "open image" dialog (image.pick), owned by main so the renderer never gets a
// general file-system API; the chosen file is inspected before the renderer sees it.

import type { ImageInfo } from '../../shared/contract';
import { inspectImage } from '../host/image-inspector';

/** The part of Electron's dialog module used here. */
export interface DialogLike {
  showOpenDialog(window: unknown, options: { title: string; properties: string[]; filters: Array<{ name: string; extensions: string[] }> }): Promise<{ canceled: boolean; filePaths: string[] }>;
  showSaveDialog(window: unknown, options: { title: string; defaultPath: string; filters: Array<{ name: string; extensions: string[] }> }): Promise<{ canceled: boolean; filePath?: string }>;
}

export const IMAGE_EXTENSIONS = ['img', 'iso', 'raw', 'bin', 'wic', 'gz', 'xz', 'zst', 'bz2', 'zip', 'tar'];

/**
 * The native save dialog for a backup (drives.backupPick), opened at the suggested file. Its name
 * says the compression (.img.zst, .img.gz, .img.xz, .img); the engine refuses any other.
 */
export async function pickBackupFile(dialog: DialogLike, window: unknown, suggested: string): Promise<string | null> {
  const choice = await dialog.showSaveDialog(window, {
    title: 'Save the backup as',
    defaultPath: suggested,
    filters: [
      { name: 'Disk image, zstd-compressed (.img.zst)', extensions: ['zst'] },
      { name: 'Disk image, gzip-compressed (.img.gz)', extensions: ['gz'] },
      { name: 'Disk image, xz-compressed (.img.xz)', extensions: ['xz'] },
      { name: 'Disk image (.img)', extensions: ['img'] },
    ],
  });
  return choice.canceled || !choice.filePath ? null : choice.filePath;
}

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
