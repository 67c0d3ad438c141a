import { isIP } from 'node:net';

/**
 * Readers of the settings whose values have a structure: durations, partners, admin tokens, trusted proxies, the
 * RabbitMQ node list and the Redis sentinels.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `30s,10s,20s,30s` into milliseconds. */
export function parseDurationList(list: string): number[] {
  return list.split(',').map((part) => {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(part.trim());
    if (!match) throw new Error(`Not a duration: ${part}`);
    return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  });
}

/** An HMAC key a partner verifies `x-pc-signature` with. */
export interface PartnerKey {
  keyId: string;
  secret: string;
}

export interface PartnerConfig {
  name: string;
  bindings: string[];
  /** The current key (`keyId`, `secret`): every event to this partner is signed with it, and only with it. */
  keyId: string;
  secret: string;
  /**
   * The partner's second key during a rotation (PARTNERS `keys[1]`): the next one before the swap, the one being
   * retired after it. Never signs; our own Orders consumer accepts it, so events signed before the swap and
   * still queued are not refused (docs/events.md, key rotation).
   */
  secondKey?: PartnerKey;
  /**
   * The applications whose payments' events the partner receives (a shop's own backend: its own payments
   * only). Absent: every application's, and payments that belong to none.
   */
  applications?: string[];
  /**
   * How its events reach it: `amqp`, its quorum queue partner.<name> (the default, also when absent), or
   * `webhook`, a signed POST to `url` (docs/webhooks.md).
   */
  transport?: PartnerTransport;
  /** The webhook partner's endpoint (checked against the address policy at boot and on every send). */
  url?: string;
}

export const PARTNER_TRANSPORTS = ['amqp', 'webhook'] as const;
export type PartnerTransport = (typeof PARTNER_TRANSPORTS)[number];

/** A partner whose events are POSTed to its URL rather than queued. */
export const isWebhookPartner = (partner: PartnerConfig): partner is PartnerConfig & { url: string } =>
  partner.transport === 'webhook' && typeof partner.url === 'string';

export interface AdminTokenConfig {
  name: string;
  token: string;
  scopes: string[];
}

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const BINDING = /^(payment)(\.([a-z_]+|\*|#))*$|^#$/;

function parseJsonArray(json: string): Record<string, unknown>[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'object' && v !== null)) {
    throw new Error('must be a JSON array of objects');
  }
  return value as Record<string, unknown>[];
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** An application id as the applications table holds it (varchar 32; `app_` + 16 hex digits when made by us). */
const APPLICATION_ID = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_PARTNER_APPLICATIONS = 100;

/**
 * A partner entry's `applications`, when it has one. A list that would silently receive nothing (empty, or
 * naming something that cannot be an application id, such as an application's name) is refused here rather
 * than discovered by a shop waiting for its events. An id of no existing application is not caught here.
 */
function partnerApplications(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  const problem =
    `${field} must be a list of 1 to ${MAX_PARTNER_APPLICATIONS} application ids (app_…: up to 32 letters, ` +
    "digits, _ or -); leave it out to receive every application's events";
  if (!isStringArray(value) || value.length === 0 || value.length > MAX_PARTNER_APPLICATIONS) throw new Error(problem);
  const bad = value.find((id) => !APPLICATION_ID.test(id));
  if (bad !== undefined) throw new Error(`${problem}: ${JSON.stringify(bad.slice(0, 40))} is not one`);
  const twice = value.find((id, i) => value.indexOf(id) !== i);
  if (twice !== undefined) throw new Error(`${field} lists ${twice} twice`);
  return value;
}

/**
 * PARTNERS. With `ordersPartner` (ORDERS_PARTNER), that entry may not be restricted to applications: our
 * Orders module takes orders for every application, and a filter would leave other applications' orders
 * waiting for Orders' timer instead of their events.
 */
export function parsePartners(json: string, ordersPartner?: string): PartnerConfig[] {
  const partners = parseJsonArray(json).map((p, i): PartnerConfig => {
    const { name, bindings, applications } = p;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new Error(`[${i}].name must be lowercase letters, digits, -`);
    if (!isStringArray(bindings) || bindings.length === 0 || !bindings.every((b) => BINDING.test(b))) {
      throw new Error(`[${i}].bindings must be routing-key patterns such as payment.# or payment.succeeded`);
    }
    const [current, second] = partnerKeys(p, i);
    const field = `[${i}].applications (partner ${name})`;
    const only = partnerApplications(applications, field);
    if (only && name === ordersPartner) {
      throw new Error(
        `${field}: the Orders module (ORDERS_PARTNER) takes every application's orders and must receive every application's events`,
      );
    }
    const transport = partnerTransport(p, i, name, ordersPartner);
    return {
      name,
      bindings,
      ...current,
      ...(second ? { secondKey: second } : {}),
      ...(only ? { applications: only } : {}),
      ...transport,
    };
  });
  const names = new Set(partners.map((p) => p.name));
  const keyIds = partners.flatMap(partnerKeyIds);
  if (names.size !== partners.length || new Set(keyIds).size !== keyIds.length) {
    throw new Error('partner names and key ids must be unique');
  }
  return partners;
}

/**
 * A partner entry's `transport` (default `amqp`) and, for `webhook`, its `url` (a string here; whether we may
 * connect to it is the address policy's, checked with the other settings: fail-closed.ts). Our own Orders
 * module consumes its queue.
 */
function partnerTransport(
  p: Record<string, unknown>,
  i: number,
  name: string,
  ordersPartner: string | undefined,
): Pick<PartnerConfig, 'transport' | 'url'> {
  const transport = p.transport ?? 'amqp';
  if (!(PARTNER_TRANSPORTS as readonly unknown[]).includes(transport)) {
    throw new Error(`[${i}].transport (partner ${name}) must be amqp or webhook`);
  }
  if (transport === 'amqp') {
    if (p.url !== undefined) throw new Error(`[${i}].url (partner ${name}) is only for transport webhook`);
    return { transport: 'amqp' };
  }
  if (name === ordersPartner) {
    throw new Error(`[${i}].transport (partner ${name}): the Orders module (ORDERS_PARTNER) consumes its queue (amqp)`);
  }
  if (typeof p.url !== 'string' || p.url.length === 0 || p.url.length > 2048) {
    throw new Error(`[${i}].url (partner ${name}) is required for transport webhook: its https:// endpoint`);
  }
  return { transport: 'webhook', url: p.url };
}

/** Every key id of a partner: the current one, then the second during a rotation. */
export function partnerKeyIds(partner: PartnerConfig): string[] {
  return partner.secondKey ? [partner.keyId, partner.secondKey.keyId] : [partner.keyId];
}

/**
 * A partner entry's keys, current first: `keyId` + `secret` (one key, the form from before rotation), or
 * `keys: [current, second]` during a rotation (one or two `{ keyId, secret }`), never both forms at once.
 * How long and how random each secret is gets checked with the other secrets (secret-rules.ts).
 */
function partnerKeys(p: Record<string, unknown>, i: number): [PartnerKey, PartnerKey?] {
  const key = (keyId: unknown, secret: unknown, field: string): PartnerKey => {
    if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) throw new Error(`[${i}].${field}keyId is invalid`);
    if (typeof secret !== 'string') throw new Error(`[${i}].${field}secret must be a string`);
    return { keyId, secret };
  };
  if (p.keys === undefined) return [key(p.keyId, p.secret, '')];
  if (p.keyId !== undefined || p.secret !== undefined) {
    throw new Error(`[${i}] has keys and keyId/secret: give either keyId + secret or keys, not both`);
  }
  const keys = p.keys;
  if (!Array.isArray(keys) || keys.length < 1 || keys.length > 2 || !keys.every((k) => typeof k === 'object' && k)) {
    throw new Error(`[${i}].keys must be one or two { keyId, secret }: the current key first, then the next`);
  }
  const [first, second] = (keys as Record<string, unknown>[]).map((k, j) => key(k.keyId, k.secret, `keys[${j}].`));
  return second ? [first, second] : [first];
}

export const ADMIN_SCOPES = [
  'deliveries:read',
  'deliveries:retry',
  'reconciliation:read',
  'reconciliation:run',
  'payments:read',
  'payments:resolve',
  'queues:read',
  'applications:read',
  'applications:write',
  'accounts:read',
  'accounts:write',
] as const;
export type AdminScope = (typeof ADMIN_SCOPES)[number];

export function parseAdminTokens(json: string): AdminTokenConfig[] {
  return parseJsonArray(json).map((t, i): AdminTokenConfig => {
    const { name, token, scopes } = t;
    if (typeof name !== 'string' || name.length === 0) throw new Error(`[${i}].name is required`);
    if (typeof token !== 'string') throw new Error(`[${i}].token must be a string`);
    if (!isStringArray(scopes) || !scopes.every((s) => (ADMIN_SCOPES as readonly string[]).includes(s))) {
      throw new Error(`[${i}].scopes must be a subset of ${ADMIN_SCOPES.join(', ')}`);
    }
    return { name, token, scopes };
  });
}

const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** TRUST_PROXY as Express's 'trust proxy' setting: false (trust no proxy), a hop count, or addresses. */
export function parseTrustProxy(value: string): false | number | string[] {
  const trimmed = value.trim();
  if (trimmed === '') return false;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const entries = trimmed.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (TRUST_PROXY_NAMES.includes(entry)) continue;
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (family === 0 || !prefixOk || rest.length > 0) {
      throw new Error(
        `"${entry}" is not an address, a CIDR range or one of ${TRUST_PROXY_NAMES.join(', ')} ` +
          '(use a hop count such as 1 to trust the nearest proxy; true, trusting anyone, is refused)',
      );
    }
  }
  return entries;
}

/**
 * RABBITMQ_URL: one amqp(s):// URL, or the nodes of one cluster as comma-separated URLs. A list is split only
 * before a scheme, so a comma inside a password (legal in a URL's user info) never splits a URL. Problems name
 * the URL by its place in the list, never by its text (it may hold a password).
 */
export function parseRabbitmqUrls(value: string): string[] {
  const urls = value.trim().split(/\s*,\s*(?=amqps?:\/\/)/);
  if (/,\s*$/.test(value)) throw new Error('must not end with a comma');
  return urls.map((url, i) => {
    const which = urls.length > 1 ? `URL ${i + 1} of ${urls.length}` : 'the URL';
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`${which} is not a URL`);
    }
    if (!['amqp:', 'amqps:'].includes(parsed.protocol)) throw new Error(`${which} must be amqp:// or amqps://`);
    // "amqp://a,b": a list without schemes reads as one host named "a,b".
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$/.test(parsed.hostname)) {
      throw new Error(`${which} has no valid host (in a list, every URL starts with amqp:// or amqps://)`);
    }
    return url;
  });
}

export interface RedisSentinelAddress {
  host: string;
  port: number;
}

const SENTINEL_ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** REDIS_SENTINELS: comma-separated host:port ([v6 address]:port); empty: no Sentinel. */
export function parseRedisSentinels(value: string): RedisSentinelAddress[] {
  if (value.trim() === '') return [];
  return value.split(',').map((entry) => {
    const match = SENTINEL_ADDRESS.exec(entry.trim());
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      throw new Error(`"${entry.trim()}" is not host:port (e.g. 10.0.0.5:26379 or [fd00::5]:26379)`);
    }
    return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
  });
}
