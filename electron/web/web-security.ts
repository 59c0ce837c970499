// The browser host's door: it listens on 127.0.0.1 only, but any web page the user visits can
// also reach 127.0.0.1. So the WebSocket needs the random token from the printed URL, browsers must
// come from our own origin, and the Host header must name us (DNS-rebinding defence).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TOKEN_PARAM } from '../../shared/ws-protocol';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function ownOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

export function hostHeaderAllowed(host: string | undefined, port: number): boolean {
  return host !== undefined && [`127.0.0.1:${port}`, `localhost:${port}`].includes(host.toLowerCase());
}

export function tokenMatches(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export type UpgradeVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/**
 * Browsers always send Origin on a WebSocket handshake, so a foreign one means another site is
 * trying. A missing Origin is a non-browser client (a script on this machine), which still needs
 * the token.
 */
export function checkUpgrade(request: IncomingMessage, port: number, token: string): UpgradeVerdict {
  if (!hostHeaderAllowed(request.headers.host, port)) return { ok: false, status: 403, reason: 'unexpected Host header' };
  const origin = request.headers.origin;
  if (origin !== undefined && !ownOrigins(port).includes(origin)) return { ok: false, status: 403, reason: `foreign origin ${origin}` };
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  if (!tokenMatches(url.searchParams.get(TOKEN_PARAM), token)) return { ok: false, status: 401, reason: 'missing or wrong token' };
  return { ok: true };
}

/** Strict CSP for the renderer: only our own scripts and styles, sockets only back to us. */
export function contentSecurityPolicy(port: number): string {
  const sockets = ownOrigins(port).map((o) => o.replace(/^http/, 'ws')).join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(port),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    // The token is in the page URL: never send it to another site as a referrer.
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}
