import { isIP } from 'node:net';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
  type ValidationError,
} from 'class-validator';
import { failClosedProblems, SANDBOX_IN_PRODUCTION_OPT_IN } from './fail-closed';

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (value === 'true' || value === true) return true;
  if (value === 'false' || value === false) return false;
  return value;
};

const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const DURATION_LIST = /^\s*\d+(ms|s|m|h)\s*(,\s*\d+(ms|s|m|h)\s*)*$/;

/**
 * Every setting the app reads, with its default for a local run. `.env.example` documents each one;
 * the app refuses to start when a value is missing or malformed and names the key. No default is a
 * secret: secrets a local run needs are generated at start (local-secrets.ts), and NODE_ENV=production
 * refuses to start without them (fail-closed.ts).
 */
export class Environment {
  /** `production` (the Dockerfile sets it) turns the defaults that suit a laptop into refusals, and makes the queue board cookie `Secure`. */
  @IsString()
  NODE_ENV = 'development';

  /** With NODE_ENV=production, GATEWAY_MODE=sandbox needs exactly this phrase (a demo, no real money). */
  @IsString()
  @Matches(new RegExp(`^(${SANDBOX_IN_PRODUCTION_OPT_IN})?$`), {
    message: `ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION must be empty or exactly ${SANDBOX_IN_PRODUCTION_OPT_IN}`,
  })
  ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION = '';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @IsNotEmpty()
  DB_HOST = '127.0.0.1';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(65535)
  DB_PORT = 3306;

  @IsString()
  @IsNotEmpty()
  DB_USER = 'root';

  @IsString()
  DB_PASSWORD = '';

  @IsString()
  @Matches(/^[A-Za-z0-9_]{1,64}$/, { message: 'DB_NAME must be 1-64 letters, digits or underscores' })
  DB_NAME = 'payment_center';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE = 20;

  @Transform(toBoolean)
  @IsBoolean()
  DB_MIGRATE_ON_START = true;

  @IsString()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @IsString()
  @Matches(/^amqps?:\/\/.+/, { message: 'RABBITMQ_URL must be an amqp:// or amqps:// URL' })
  RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

  @Transform(toInteger)
  @IsInt()
  @Min(60)
  @Max(7 * 24 * 3600)
  ORDER_EXPIRES_IN_SECONDS = 1800;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  // WeChat Pay's `amount.total` is a 32-bit signed integer of fen: nothing larger can be paid anywhere.
  @Max(2_147_483_647)
  ORDER_MAX_AMOUNT_FEN = 10_000_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(7 * 24 * 3600)
  IDEMPOTENCY_KEY_TTL_SECONDS = 86_400;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3600)
  IDEMPOTENCY_DERIVED_TTL_SECONDS = 10;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3600)
  IDEMPOTENCY_IN_FLIGHT_TTL_SECONDS = 60;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  @Max(60_000)
  GATEWAY_TIMEOUT_MS = 10_000;

  @IsString()
  @Matches(DURATION_LIST, { message: 'PAYMENT_QUERY_SCHEDULE must be a comma-separated list like 30s,10s,20s,30s' })
  PAYMENT_QUERY_SCHEDULE = '30s,10s,20s,30s';

  @IsString()
  @Matches(DURATION_LIST, { message: 'PAYMENT_QUERY_LONG_TAIL must be a comma-separated list like 1m,2m,5m,10m' })
  PAYMENT_QUERY_LONG_TAIL = '1m,2m,5m,10m';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100)
  PAYMENT_CLOSE_ATTEMPTS = 5;

  @IsString()
  @Matches(DURATION_LIST, { message: 'PAYMENT_REVIEW_REQUERY must be a duration like 1h' })
  PAYMENT_REVIEW_REQUERY = '1h';

  @Transform(toBoolean)
  @IsBoolean()
  RECOVERY_JOBS_ENABLED = true;

  @IsString()
  @Matches(/^[a-z0-9:_-]{1,64}$/, { message: 'RECOVERY_QUEUE_PREFIX must be 1-64 of a-z 0-9 : _ -' })
  RECOVERY_QUEUE_PREFIX = 'payment-center';

  @Transform(toBoolean)
  @IsBoolean()
  RECONCILER_ENABLED = true;

  @IsString()
  @Matches(/^\S+( \S+){4,5}$/, { message: 'RECONCILER_CRON must be a cron expression like */5 * * * * *' })
  RECONCILER_CRON = '*/5 * * * * *';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(1000)
  RECONCILER_BATCH_SIZE = 50;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  RECONCILER_GRACE_MS = 10_000;

  @Transform(toBoolean)
  @IsBoolean()
  RECONCILIATION_ENABLED = true;

  @IsString()
  @Matches(/^\S+( \S+){4,5}$/, { message: 'RECONCILIATION_CRON must be a cron expression like 0 30 10-23 * * *' })
  RECONCILIATION_CRON = '0 30 10-23 * * *';

  @Transform(toBoolean)
  @IsBoolean()
  ORDERS_CHECK_ENABLED = true;

  @IsString()
  @Matches(/^\S+( \S+){4,5}$/, { message: 'ORDERS_CHECK_CRON must be a cron expression like */10 * * * * *' })
  ORDERS_CHECK_CRON = '*/10 * * * * *';

  @IsString()
  @Matches(DURATION_LIST, { message: 'ORDERS_PAYMENT_CHECK_AFTER must be a duration like 60s' })
  ORDERS_PAYMENT_CHECK_AFTER = '60s';

  /**
   * Business systems that receive payment events: JSON array of
   * {"name","bindings":["payment.#"],"keyId","secret"}. Each gets a durable quorum queue `partner.<name>`.
   * Not set: required in production; a local run gets the Orders partner with a key made at start.
   */
  @IsString()
  PARTNERS = '[]';

  /** Admin API bearer tokens: JSON array of {"name","token","scopes":["deliveries:read","deliveries:retry"]}. */
  @IsString()
  ADMIN_TOKENS = '[]';

  /** Bearer token GET /metrics requires (required in production); empty: /metrics is open (local runs). */
  @IsString()
  @Matches(/^\S*$/, { message: 'METRICS_TOKEN must have no spaces' })
  METRICS_TOKEN = '';

  /** How long gauges read from the database are reused between scrapes (milliseconds). */
  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(60_000)
  METRICS_DB_CACHE_MS = 5000;

  @Transform(toBoolean)
  @IsBoolean()
  RELAY_ENABLED = true;

  @Transform(toInteger)
  @IsInt()
  @Min(50)
  @Max(60_000)
  RELAY_POLL_INTERVAL_MS = 1000;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  @Max(60_000)
  RELAY_PUBLISH_TIMEOUT_MS = 5000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(1000)
  RELAY_BATCH_SIZE = 50;

  /** How long a relay holds claimed outbox rows before another instance may take them over. */
  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  RELAY_CLAIM_LEASE_MS = 30_000;

  @Transform(toBoolean)
  @IsBoolean()
  CONSUMERS_ENABLED = true;

  /** The entry of PARTNERS that is our own Orders module: its queue and signing key. */
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,39}$/, { message: 'ORDERS_PARTNER must be a partner name' })
  ORDERS_PARTNER = 'orders';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100)
  PARTNER_DELIVERY_LIMIT = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(60_000)
  CONSUMER_RETRY_DELAY_MS = 1000;

  /** sandbox: every provider talks to the gateway sandbox with generated test keys; live: the vendors. */
  @IsIn(['sandbox', 'live'])
  GATEWAY_MODE: 'sandbox' | 'live' = 'sandbox';

  /** Where the gateway sandbox listens (GATEWAY_MODE=sandbox). */
  @IsString()
  @Matches(/^https?:\/\/[^/]+$/, { message: 'SANDBOX_URL must be an http(s) origin without a path' })
  SANDBOX_URL = 'http://127.0.0.1:4010';

  /** The sandbox's generated test keys, shared with the sandbox process (created if missing). */
  @IsString()
  @IsNotEmpty()
  SANDBOX_KEYS_DIR = 'var/sandbox-keys';

  /** This service's address as the vendors reach it: notification URLs are built from it. */
  @IsString()
  @Matches(/^https?:\/\/[^/]+$/, { message: 'PUBLIC_BASE_URL must be an http(s) origin without a path' })
  PUBLIC_BASE_URL = 'http://127.0.0.1:3000';

  /** GATEWAY_MODE=live: WeChat Pay merchant settings (all required then). */
  @IsString()
  WECHAT_API_BASE_URL = 'https://api.mch.weixin.qq.com';

  @IsString()
  WECHAT_MCHID = '';

  @IsString()
  WECHAT_APPID = '';

  /** Serial number of the merchant API certificate. */
  @IsString()
  WECHAT_MERCHANT_SERIAL_NO = '';

  /** PEM file of the merchant API private key (apiclient_key.pem). */
  @IsString()
  WECHAT_MERCHANT_PRIVATE_KEY_FILE = '';

  /** JSON object: platform certificate serial or PUB_KEY_ID_… → PEM file of its public key. */
  @IsString()
  WECHAT_PLATFORM_KEYS = '{}';

  /** The 32-character APIv3 key (decrypts notifications). */
  @IsString()
  WECHAT_APIV3_KEY = '';

  /** GATEWAY_MODE=live: Alipay settings (all required then). */
  @IsString()
  ALIPAY_GATEWAY_URL = 'https://openapi.alipay.com/gateway.do';

  @IsString()
  ALIPAY_APP_ID = '';

  /** PEM file (PKCS#8) of the application private key. */
  @IsString()
  ALIPAY_APP_PRIVATE_KEY_FILE = '';

  /** PEM file of Alipay's public key (verifies responses and notifications). */
  @IsString()
  ALIPAY_PUBLIC_KEY_FILE = '';

  /** Optional: the merchant's Alipay user id; when set, a notification for another seller_id is refused. */
  @Matches(/^(2088\d{12})?$/, { message: 'ALIPAY_SELLER_ID must be an Alipay user id: 16 digits starting 2088' })
  ALIPAY_SELLER_ID = '';

  /** GATEWAY_MODE=live: UnionPay online gateway 5.1.0 (all required then). */
  @IsString()
  UNIONPAY_GATEWAY_URL = 'https://gateway.95516.com';

  /** UnionPay's file download service (reconciliation files): a host of its own. */
  @IsString()
  UNIONPAY_FILE_URL = 'https://filedownload.95516.com/';

  @IsString()
  UNIONPAY_MER_ID = '';

  /** PEM file of the merchant signing private key (exported from the .pfx). */
  @IsString()
  UNIONPAY_SIGN_KEY_FILE = '';

  /** PEM file of the merchant signing certificate (its serial is the certId). */
  @IsString()
  UNIONPAY_SIGN_CERT_FILE = '';

  /** PEM files of UnionPay's root and middle certificates (verify signPubKeyCert). */
  @IsString()
  UNIONPAY_ROOT_CERT_FILE = '';

  @IsString()
  UNIONPAY_MIDDLE_CERT_FILE = '';

  /** Require signPubKeyCert to be issued to 中国银联股份有限公司; only UnionPay's test environment needs false. */
  @Transform(toBoolean)
  @IsBoolean()
  UNIONPAY_REQUIRE_UNIONPAY_CN = true;

  /** On SIGTERM, how long requests in flight, consumers, jobs and the relay get to finish before the process exits 1. */
  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  SHUTDOWN_TIMEOUT_MS = 25_000;

  /**
   * At most this many bytes of log lines wait in memory for stdout; while stdout is not read and that much
   * waits, further lines are dropped (counted, and one error line says how many once lines flow again).
   */
  @Transform(toInteger)
  @IsInt()
  @Min(65_536)
  LOG_BUFFER_MAX_BYTES = 16_777_216;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /**
   * Which proxies in front of the app to believe about the client (X-Forwarded-For / -Proto), Express's
   * 'trust proxy': empty (none: the default), a hop count (`1`: the nearest one), or a comma-separated list
   * of addresses, CIDR ranges and the names loopback, linklocal, uniquelocal. Behind a TLS-terminating
   * proxy this is what makes a request count as HTTPS. `true` (believe anyone) is refused.
   */
  @IsString()
  TRUST_PROXY = '';
}

export class InvalidEnvironment extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidEnvironment';
  }
}

/** Validates raw environment values; throws InvalidEnvironment naming every bad key. */
export function validateEnvironment(raw: Record<string, unknown>): Environment {
  const known = Object.keys(new Environment());
  // Empty strings in a .env mean "unset" except where empty is a legal value (a blank DB password).
  const present = Object.fromEntries(
    Object.entries(raw).filter(([key, value]) => known.includes(key) && (value !== '' || key === 'DB_PASSWORD')),
  );
  const env = plainToInstance(Environment, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: true });
  const problems = errors.map((e) => describe(e, raw));
  const invalid = (key: keyof Environment) => errors.some((e) => e.property === key);
  const parse = <T>(key: 'PARTNERS' | 'ADMIN_TOKENS' | 'TRUST_PROXY', parser: (json: string) => T): T | undefined => {
    if (invalid(key)) return undefined;
    try {
      return parser(env[key]);
    } catch (error) {
      problems.push(`${key}=${shown(key, raw[key])}: ${(error as Error).message}`);
      return undefined;
    }
  };
  parse('TRUST_PROXY', parseTrustProxy);
  const parsed = { partners: parse('PARTNERS', parsePartners), adminTokens: parse('ADMIN_TOKENS', parseAdminTokens) };
  // The cross-key rules need every key they read to be well-formed; those already reported are enough.
  const crossKeys: (keyof Environment)[] = ['NODE_ENV', 'GATEWAY_MODE', 'RABBITMQ_URL', 'METRICS_TOKEN'];
  if (!crossKeys.some(invalid)) problems.push(...failClosedProblems(env, raw, parsed));
  if (problems.length > 0) throw new InvalidEnvironment(problems);
  return env;
}

/** Keys whose values are secrets or hold some: a refusal names the key but never prints the value. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'PARTNERS',
  'ADMIN_TOKENS',
  'METRICS_TOKEN',
  'DB_PASSWORD',
  'WECHAT_APIV3_KEY',
]);
/** URLs that may carry a password (`amqp://user:password@host`): shown with the password masked. */
const URL_KEYS: ReadonlySet<string> = new Set(['RABBITMQ_URL', 'REDIS_URL']);

function shown(key: string, value: unknown): string {
  if (value === undefined) return '(not set)';
  if (SECRET_KEYS.has(key)) return '(set, not shown)';
  if (URL_KEYS.has(key) && typeof value === 'string') {
    return JSON.stringify(value.replace(/(^|\/\/)([^:@/]*):[^@/]*@/, '$1$2:***@'));
  }
  return JSON.stringify(value);
}

function describe(error: ValidationError, raw: Record<string, unknown>): string {
  const reasons = Object.values(error.constraints ?? {}).join('; ');
  return `${error.property}=${shown(error.property, raw[error.property])}: ${reasons}`;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Parses `30s,10s,20s,30s` into milliseconds. */
export function parseDurationList(list: string): number[] {
  return list.split(',').map((part) => {
    const match = /^(\d+)(ms|s|m|h)$/.exec(part.trim());
    if (!match) throw new Error(`Not a duration: ${part}`);
    return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  });
}

export interface PartnerConfig {
  name: string;
  bindings: string[];
  keyId: string;
  secret: string;
}

export interface AdminTokenConfig {
  name: string;
  token: string;
  scopes: string[];
}

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const BINDING = /^(payment)(\.([a-z_]+|\*|#))*$|^#$/;

function parseJsonArray(json: string): Record<string, unknown>[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'object' && v !== null)) {
    throw new Error('must be a JSON array of objects');
  }
  return value as Record<string, unknown>[];
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

export function parsePartners(json: string): PartnerConfig[] {
  const partners = parseJsonArray(json).map((p, i): PartnerConfig => {
    const { name, bindings, keyId, secret } = p;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new Error(`[${i}].name must be lowercase letters, digits, -`);
    if (!isStringArray(bindings) || bindings.length === 0 || !bindings.every((b) => BINDING.test(b))) {
      throw new Error(`[${i}].bindings must be routing-key patterns such as payment.# or payment.succeeded`);
    }
    if (typeof keyId !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(keyId)) throw new Error(`[${i}].keyId is invalid`);
    // How long and how random: checked with the other secrets (secret-rules.ts), naming the partner.
    if (typeof secret !== 'string') throw new Error(`[${i}].secret must be a string`);
    return { name, bindings, keyId, secret };
  });
  const names = new Set(partners.map((p) => p.name));
  const keyIds = new Set(partners.map((p) => p.keyId));
  if (names.size !== partners.length || keyIds.size !== partners.length) {
    throw new Error('partner names and key ids must be unique');
  }
  return partners;
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
