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

/**
 * An archive's entry that is the image by its name: an image file's name, or "-", the name zip
 * gives what it read from its standard input (`xz -dc x.img.xz | zip - - > x.zip`): the one entry
 * of a zip made from a pipe, whatever its size.
 */
export function looksLikeImageEntry(name: string): boolean {
  return name === '-' || looksLikeImageName(name);
}
