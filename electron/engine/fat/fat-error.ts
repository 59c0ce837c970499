// One error class for everything the FAT code refuses: a damaged or unexpected filesystem, a name
// it cannot store, a full volume. The message says what was found and where.

export class FatError extends Error {
  override name = 'FatError';
}
