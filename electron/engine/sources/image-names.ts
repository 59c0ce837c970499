// Which file names are disk images, by name alone: for choosing an archive's entry, and for
// naming the image in a folder picked by mistake. Content decides the format later.

const IMAGE_NAME = /\.(img|iso|raw|bin|wic|hdd|hddimg|sdcard|dmg|vhd)(\.(xz|gz|zst|bz2))?$/i;

/**
 * macOS metadata that Finder's "Compress" and bsdtar add beside every file: `__MACOSX/` folders and
 * AppleDouble `._NAME` files (a few KiB of resource fork, named like the image). Never the image.
 */
export function isMacMetadata(name: string): boolean {
  const parts = name.split('/');
  return parts.includes('__MACOSX') || parts.some((part) => part.startsWith('._'));
}

export function looksLikeImageName(name: string): boolean {
  return IMAGE_NAME.test(name) && !name.endsWith('/') && !isMacMetadata(name);
}
