// What the elevated helper accepts: well-formed flash/verify/check/cancel requests for the drive(s) it
// was started for. Everything else is refused before it reaches the engine — the helper runs as
// root, so a request it should not run must never get that far.

import { BlockwiseError } from '../../shared/errors';
import type { EngineRequest } from '../engine/protocol';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id of a message, if it carries a usable one (so an error can be matched to its request). */
export function requestIdOf(value: unknown): number {
  return isObject(value) && Number.isSafeInteger(value.id) ? (value.id as number) : 0;
}

/** Checks the shape of one parsed line; throws INVALID_REQUEST naming what is wrong. */
export function parseRequest(value: unknown): EngineRequest {
  const invalid = (why: string) => new BlockwiseError('INVALID_REQUEST', `The helper refused a request: ${why}.`);
  if (!isObject(value)) throw invalid('a request must be a JSON object');
  if (!Number.isSafeInteger(value.id) || (value.id as number) < 0) throw invalid('"id" must be a non-negative integer');
  switch (value.type) {
    case 'cancel':
      return { type: 'cancel', id: value.id as number };
    case 'flash': {
      const job = value.job;
      if (!isObject(job) || !isObject(job.source) || !Array.isArray(job.targets) || !isObject(job.options)) {
        throw invalid('a flash needs job.source, job.targets and job.options');
      }
      for (const t of job.targets) if (!isObject(t) || typeof t.path !== 'string') throw invalid('every target needs a "path" string');
      return value as unknown as EngineRequest;
    }
    case 'verify': {
      const job = value.job;
      if (!isObject(job) || !isObject(job.source) || !isObject(job.target) || typeof job.target.path !== 'string') {
        throw invalid('a verify needs job.source and job.target.path');
      }
      return value as unknown as EngineRequest;
    }
    case 'check':
      if (typeof value.path !== 'string') throw invalid('a check needs a "path" string');
      return { type: 'check', id: value.id as number, path: value.path };
    default:
      throw invalid(`unknown request type ${JSON.stringify(value.type)} (only flash, verify, check and cancel)`);
  }
}

/**
 * Refuses any request that touches a device other than `devices` (exact path match). A multi-drive
 * job is served by ONE helper started with every drive of the job, so the image is decompressed
 * once for all of them (and the person sees one prompt, not one per drive).
 */
export function authorizeFor(devices: readonly string[]): (request: EngineRequest) => void {
  const allowed = new Set(devices);
  const list = devices.join(', ');
  return (request) => {
    if (request.type === 'cancel') return;
    // A backup writes a file where the caller says: never as root (parseRequest does not let one through either).
    if (request.type === 'backup') throw new BlockwiseError('TARGET_NOT_ALLOWED', 'The helper does not make backups: run the backup with your own rights (as root, or in the disk group).');
    const paths = request.type === 'flash' ? request.job.targets.map((t) => t.path) : request.type === 'check' ? [request.path] : [request.job.target.path];
    const other = paths.find((p) => !allowed.has(p));
    const twice = paths.find((p, i) => paths.indexOf(p) !== i);
    if (other !== undefined || paths.length === 0 || twice !== undefined) {
      const what = other ?? (paths.length === 0 ? 'a request without a drive' : `${twice} named twice`);
      throw new BlockwiseError('TARGET_NOT_ALLOWED', `This helper was started for ${list} only and refuses ${what}. Nothing was written.`, {
        path: other ?? twice ?? devices[0],
      });
    }
  };
}
