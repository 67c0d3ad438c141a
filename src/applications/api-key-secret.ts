import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a business key may do; each business operation names the one it needs. */
export const API_SCOPES = [
  'orders:write',
  'orders:read',
  'payments:read',
  'refunds:write',
  'refunds:read',
  'events:read',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export const newApplicationId = () => `app_${randomBytes(8).toString('hex')}`;
export const newKeyId = () => `ak_${randomBytes(8).toString('hex')}`;

/**
 * A key's secret: `pcsk_<key id>_<64 hex digits>` (256 random bits). The key id inside lets the guard find the
 * key's row without comparing against every hash; the prefix makes a leaked secret easy to grep for.
 */
export function newSecret(keyId: string): string {
  return `pcsk_${keyId}_${randomBytes(32).toString('hex')}`;
}

const SECRET = /^pcsk_(ak_[0-9a-f]{16})_[0-9a-f]{64}$/;

/** The key id a presented secret names, or undefined when it is not shaped like one of ours. */
export function keyIdOf(secret: string): string | undefined {
  return SECRET.exec(secret)?.[1];
}

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** Constant-time comparison of a presented secret with a stored hash (both hex SHA-256 of equal length). */
export function secretMatches(presented: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(presented), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === given.length && timingSafeEqual(given, stored);
}

export function parseScopes(stored: string): ApiScope[] {
  return stored.split(' ').filter((s): s is ApiScope => (API_SCOPES as readonly string[]).includes(s));
}
