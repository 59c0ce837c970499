// A catalog in Raspberry Pi Imager's format for tests (host, CLI, e2e).

/** The SHA-256 its first image gives for itself. */
export const SHA = 'ab'.repeat(32);

/** The shape of Raspberry Pi's own catalog, cut down: a top-level image, a group, a group elsewhere, and Imager's own "erase" entry. */
export const SAMPLE_CATALOG = {
  imager: { latest_version: '1.9.0' },
  os_list: [
    {
      name: 'Raspberry Pi OS (64-bit)',
      description: 'A port of Debian Bookworm with the Raspberry Pi Desktop',
      url: 'images/raspios-arm64.img.xz',
      extract_size: 6_000_000_000,
      extract_sha256: SHA.toUpperCase(),
      image_download_size: 1_200_000_000,
      image_download_sha256: 'cd'.repeat(32),
      release_date: '2025-05-13',
      icon: 'https://example.org/icon.png',
      devices: ['pi5-64bit'],
    },
    {
      name: 'Raspberry Pi OS (other)',
      description: 'Other Raspberry Pi OS based images',
      subitems: [
        { name: 'Raspberry Pi OS Lite (64-bit)', url: 'https://example.org/lite.img.xz', image_download_sha256: 'ef'.repeat(32), image_download_size: 400_000_000 },
        { name: 'Broken entry', url: 42 },
      ],
    },
    { name: 'Other general-purpose OS', subitems_url: '/more/os_list.json' },
    { name: 'Erase', description: 'Format card as FAT32', url: 'internal://format' },
  ],
};
