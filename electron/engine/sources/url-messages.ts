// How a failed download is put in words: the address as a person may see it (a password in it
// masked), why connecting failed, and what a failing status usually means for a download link.

import type { IncomingHttpHeaders } from 'node:http';

/**
 * An address as messages show it: a password in it (`https://user:secret@host/…`, private
 * mirrors) is masked, since messages end up on screens, in terminals and in bug reports.
 */
export function shownUrl(address: string | URL): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return String(address);
  }
  if (url.password === '') return url.href;
  url.password = '***';
  return url.href;
}

/** TLS failures that mean the server's certificate is not one to trust (a stack trace helps nobody). */
const UNTRUSTED_CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** Why connecting failed, in words; the address is named by the caller. */
export function connectFailure(error: Error & { code?: string }, url: URL): string {
  if (error.code && UNTRUSTED_CERTIFICATE.test(error.code)) {
    return `the server's certificate is not trusted (${error.message}), so Blockwise does not download from it: the connection could be intercepted. Use an address whose server has a valid certificate`;
  }
  if (error.code === 'ENOTFOUND') return `no server named ${url.hostname} was found`;
  return error.message;
}

/** What a failing status usually means for a download link. */
export function statusHint(status: number, headers: IncomingHttpHeaders): string {
  const retry = headers['retry-after'];
  const wait = retry && /^\d+$/.test(retry) ? ` and asks to try again in ${Number(retry) < 120 ? `${retry} s` : `${Math.round(Number(retry) / 60)} min`}` : '';
  if (status === 503 || status === 429) return `: the server is busy${wait}`;
  if (status === 401 || status === 403) return ': the server refuses to give the file (the link may have expired, or need a login)';
  if (status === 404 || status === 410) return ': there is no file at that address';
  return '';
}
