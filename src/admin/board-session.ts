import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AdminTokenConfig } from '../config/environment';

/** The queue board lives here; its session cookie is sent to this path only. */
export const BOARD_PATH = '/admin/queues';
export const BOARD_COOKIE = 'pc_queue_board';
/** Short: the console issues a fresh one each time the operator opens the board. */
export const BOARD_SESSION_MS = 15 * 60_000;

const mac = (token: AdminTokenConfig, name: string, expiresMs: number): Buffer =>
  createHmac('sha256', token.token).update(`queue-board|${name}|${expiresMs}`).digest();

/**
 * A browser cannot send a bearer header when it navigates, so the board is opened with a cookie the
 * console gets after a bearer sign-in: `<name, base64url>.<expiry, ms>.<HMAC-SHA256 keyed by the token>`.
 * Nothing is stored on the server and any instance can check it; removing the token from ADMIN_TOKENS
 * ends its sessions, and the scope is read from the configuration at every request, not from the cookie.
 */
export function issueBoardSession(token: AdminTokenConfig, now: Date): { value: string; expiresAt: Date } {
  const expiresMs = now.getTime() + BOARD_SESSION_MS;
  const name = Buffer.from(token.name).toString('base64url');
  return {
    value: `${name}.${expiresMs}.${mac(token, token.name, expiresMs).toString('hex')}`,
    expiresAt: new Date(expiresMs),
  };
}

/** The token a board session cookie was issued for, if it is genuine and not expired. */
export function verifyBoardSession(
  tokens: readonly AdminTokenConfig[],
  value: string,
  now: Date,
): AdminTokenConfig | undefined {
  const match = /^([A-Za-z0-9_-]{1,200})\.(\d{13})\.([0-9a-f]{64})$/.exec(value);
  if (!match) return undefined;
  const name = Buffer.from(match[1], 'base64url').toString();
  const expiresMs = Number(match[2]);
  // A cookie from the future was not made by issueBoardSession (or the clock jumped): refuse it too.
  if (expiresMs <= now.getTime() || expiresMs > now.getTime() + BOARD_SESSION_MS) return undefined;
  const given = Buffer.from(match[3], 'hex');
  let found: AdminTokenConfig | undefined;
  for (const token of tokens) {
    if (token.name === name && timingSafeEqual(given, mac(token, name, expiresMs)) && !found) found = token;
  }
  return found;
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

/**
 * Whether the board cookie gets `Secure`: always in production (NODE_ENV=production), so a deployment whose
 * TLS-terminating proxy is not in TRUST_PROXY still never sends the session in clear; in local development
 * (any other NODE_ENV) when the request came over HTTPS, so `npm start` on http://localhost keeps working.
 */
export function boardCookieSecure(production: boolean, request: { secure: boolean }): boolean {
  return production || request.secure;
}

/**
 * HttpOnly (page scripts never see it), SameSite=Strict (no other site's page makes the browser send it),
 * limited to the board's path, Secure as boardCookieSecure says. It grants reading the board only: the admin API takes
 * bearer tokens, never this cookie, so it cannot be used to act.
 */
export function boardCookie(value: string, maxAgeMs: number, secure: boolean): string {
  const attributes = [
    `${BOARD_COOKIE}=${value}`,
    `Path=${BOARD_PATH}`,
    `Max-Age=${Math.floor(maxAgeMs / 1000)}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (secure) attributes.push('Secure');
  return attributes.join('; ');
}
