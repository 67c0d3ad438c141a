/**
 * What a configured secret (a partner's HMAC key, an admin or metrics bearer token) must be.
 *
 * 32 characters: RFC 2104 asks for an HMAC key at least as long as the hash output (32 bytes for SHA-256),
 * and 32 characters of `openssl rand -hex 32` / `-base64 32` output carry 128 to 192 bits, out of reach of
 * guessing over the network. The length is all the app can measure; it also refuses the values this
 * repository has ever published as examples, and anything still marked as a placeholder.
 */
export const MIN_SECRET_LENGTH = 32;

/** Every example secret printed in this repository (.env.example, README, docs, docker-compose), old and new. */
const PUBLISHED_PLACEHOLDERS: ReadonlySet<string> = new Set([
  'local-only-orders-secret-change-me',
  'a-long-random-local-token',
  '<at least 16 characters>',
  '<at least 24 characters>',
  '<at least 32 characters>',
]);

const PLACEHOLDER_MARK = /change[-_ ]?me|replace[-_ ]?me|^<.*>$/i;

/** Why `value` cannot be a secret, or undefined when it may. Never quotes the value. */
export function secretProblem(value: string): string | undefined {
  if (PUBLISHED_PLACEHOLDERS.has(value.trim()) || PLACEHOLDER_MARK.test(value)) {
    return 'is a published placeholder, not a secret: generate one, e.g. `openssl rand -hex 32`';
  }
  if (value.length < MIN_SECRET_LENGTH) {
    return `must be at least ${MIN_SECRET_LENGTH} characters (has ${value.length}): generate one, e.g. \`openssl rand -hex 32\``;
  }
  return undefined;
}
