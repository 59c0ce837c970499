// Runtime validation of every contract request, run by the privileged side before any handler.
// Each schema is typed against the contract and checked both ways (see `SchemasMatch` below), so
// a field renamed or retyped in contract.ts fails the typecheck until the schema follows.

import { z } from 'zod';
import type { RequestArgs, RequestName, Settings } from './contract';
import { BlockwiseError } from './errors';

const empty = z.object({}).strict();
/** Drive ids are opaque tokens issued by the scanner, never paths. */
const driveId = z.string().min(1).max(256);
const hostPath = z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'must not contain NUL');

/** Only web addresses: file:, data:, javascript: and friends never reach the downloader. */
export const webUrl = z
  .string()
  .min(1)
  .max(8192)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// address');
/** A SHA-256 as hex: exactly 64 digits, nothing around them. */
export const sha256Hex = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256: 64 hexadecimal digits');
const entryName = z.string().min(1).max(4096);
const oneLocation = (path: string | undefined, url: string | undefined) => (path === undefined) !== (url === undefined);

const settingsPatch = z
  .object({
    verify: z.boolean(),
    ejectWhenDone: z.boolean(),
    showAllDrives: z.boolean(),
    fullWrite: z.boolean(),
    keepDownloads: z.boolean(),
    catalogUrl: webUrl,
  })
  .partial()
  .strict();

export const requestSchemas = {
  'app.info': empty,
  'drives.list': empty,
  'drives.check': z.object({ driveId }).strict(),
  'drives.checkCancel': z.object({ driveId }).strict(),
  'drives.backupName': z.object({ driveId }).strict(),
  'drives.backup': z.object({ driveId, file: hostPath }).strict(),
  'drives.backupCancel': z.object({ driveId }).strict(),
  'drives.backupPick': z.object({ file: hostPath }).strict(),
  'image.pick': empty,
  'catalog.list': z.object({ url: webUrl.optional() }).strict(),
  'image.inspect': z
    .object({ path: hostPath.optional(), url: webUrl.optional(), entry: entryName.optional() })
    .strict()
    .refine((a) => oneLocation(a.path, a.url), 'give either path or url, exactly one'),
  'image.browse': z.object({ dir: hostPath.optional() }).strict(),
  'flash.start': z
    .object({
      imagePath: hostPath.optional(),
      url: webUrl.optional(),
      entry: entryName.optional(),
      checksum: sha256Hex.optional(),
      driveIds: z.array(driveId).min(1).max(64),
      confirmSystem: z.boolean().optional(),
    })
    .strict()
    .refine((a) => oneLocation(a.imagePath, a.url), 'give either imagePath or url, exactly one'),
  'flash.cancel': z.object({ jobId: z.string().min(1).max(128) }).strict(),
  'flash.jobs': empty,
  'settings.get': empty,
  'settings.set': settingsPatch,
} satisfies { [K in RequestName]: z.ZodType<RequestArgs<K>> };

// Compile-time check in the other direction: every schema's output is exactly the contract's args.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Named keys only (Record<string, never> has none), so an extra optional field is caught too. */
type NamedKeys<T> = string extends keyof T ? never : keyof T;
type Exact<A, B> = Same<A, B> extends true ? Same<NamedKeys<A>, NamedKeys<B>> : false;
type SchemasMatch = { [K in RequestName]: Exact<z.output<(typeof requestSchemas)[K]>, RequestArgs<K>> };
const schemasMatch: SchemasMatch = {
  'app.info': true,
  'drives.list': true,
  'drives.check': true,
  'drives.checkCancel': true,
  'drives.backupName': true,
  'drives.backup': true,
  'drives.backupCancel': true,
  'drives.backupPick': true,
  'image.pick': true,
  'catalog.list': true,
  'image.inspect': true,
  'image.browse': true,
  'flash.start': true,
  'flash.cancel': true,
  'flash.jobs': true,
  'settings.get': true,
  'settings.set': true,
};
void schemasMatch;

export const REQUEST_NAMES = Object.keys(requestSchemas) as RequestName[];

export function isRequestName(value: unknown): value is RequestName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(requestSchemas, value);
}

/** Full settings as stored on disk: every field present. */
export const settingsSchema: z.ZodType<Settings> = settingsPatch.required();

/** Whether one stored setting's value is good (a bad one falls back alone, the rest kept). */
export function settingsFieldValid(key: keyof Settings, value: unknown): boolean {
  return settingsPatch.shape[key].safeParse(value).success;
}

/**
 * Checks a request's name and arguments; throws INVALID_REQUEST naming the first problem.
 * Returns the parsed args (unknown keys refused, so nothing unexpected reaches a handler).
 */
export function parseRequest<K extends RequestName>(name: unknown, args: unknown): { name: K; args: RequestArgs<K> } {
  if (!isRequestName(name)) {
    throw new BlockwiseError('INVALID_REQUEST', `Unknown request ${JSON.stringify(String(name)).slice(0, 80)}.`);
  }
  const parsed = requestSchemas[name].safeParse(args ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new BlockwiseError('INVALID_REQUEST', `Invalid arguments for ${name}${where}: ${issue?.message ?? 'rejected'}.`, {
      request: name,
    });
  }
  return { name: name as K, args: parsed.data as RequestArgs<K> };
}
