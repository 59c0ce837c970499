// A failed contract request as an Error that keeps the host's stable code and details, so stores
// can show describeError() text and react to codes (CANCELLED, SOURCE_UNSUPPORTED…).

import type { SerializedError } from '../shared/errors';
import { isErrorCode } from '../shared/errors';

export class RequestFailed extends Error {
  readonly serialized: SerializedError;
  constructor(serialized: SerializedError) {
    super(serialized.message);
    this.name = 'RequestFailed';
    this.serialized = serialized;
  }
}

/** Any thrown value as a SerializedError (Electron's invoke wraps errors in its own text). */
export function toSerializedError(error: unknown): SerializedError {
  if (error instanceof RequestFailed) return error.serialized;
  if (error && typeof error === 'object' && 'code' in error && isErrorCode((error as { code: unknown }).code)) {
    const e = error as { code: SerializedError['code']; message?: string; details?: SerializedError['details'] };
    return { code: e.code, message: e.message ?? e.code, ...(e.details ? { details: e.details } : {}) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message };
}
