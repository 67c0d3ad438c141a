import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartnerConfig } from '../../src/config/environment';
import type { DatabaseSettings } from '../../src/database/typeorm-options';

/**
 * Where the benchmarks keep their data, apart from everything tests use: their own schemas, their own
 * RabbitMQ virtual host (the app's exchange and queue names are fixed, so a vhost is what keeps bench
 * events out of test partners' queues), their own Redis database number and Bull prefix.
 */
/**
 * BENCH_SUFFIX (letters, digits, underscores) names a separate set of all of these, so that two runs on
 * one machine (two developers, or a run beside a test suite) do not empty each other's schema or queues.
 */
const SUFFIX = /^[a-z0-9_]*$/i.test(process.env.BENCH_SUFFIX ?? '') ? (process.env.BENCH_SUFFIX ?? '') : '';
const named = (base: string) => (SUFFIX ? `${base}_${SUFFIX}` : base);
export const BENCH_DB = named('payment_center_bench');
/** The reconciler's tables of settled payments, kept between runs (seeding 1M rows is the slow part). */
export const BENCH_DB_SMALL = named('payment_center_bench_10k');
export const BENCH_DB_LARGE = named('payment_center_bench_1m');
export const BENCH_VHOST = named('payment_center_bench');
export const BENCH_REDIS_DB = Number(process.env.BENCH_REDIS_DB ?? 11);
export const BENCH_QUEUE_PREFIX = named('payment-center-bench');
/** Test keys (the sandbox's format): the app verifies callbacks with them, the bench signs with them. */
export const BENCH_KEYS_DIR = join(tmpdir(), named('payment-center-bench'), 'keys');

export const BENCH_PARTNER: PartnerConfig = {
  name: 'bench',
  bindings: ['payment.#'],
  keyId: 'bench-k1',
  secret: 'bench-only-secret-0123456789abcdefghij',
};

/** The operator token of bench apps (bench-only, like the bench's API key): it makes the stored accounts. */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdefghij';
/**
 * A fixed bench-only key-encryption key: every bench app of a run (and of the next, until the schema is
 * emptied) must open the accounts the checkout bench stored.
 */
const BENCH_ACCOUNT_KEKS = `bench:${Buffer.alloc(32, 'bench-kek').toString('base64')}`;

/** scheme://user:password@host:port of a URL, without its path (the vhost or database number). */
const origin = (url: string) => /^[a-z]+:\/\/[^/]+/.exec(url)?.[0] ?? url;
const rabbitBase = origin(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
const redisBase = origin(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

export const BENCH_RABBITMQ_URL = `${rabbitBase}/${BENCH_VHOST}`;
export const BENCH_REDIS_URL = `${redisBase}/${BENCH_REDIS_DB}`;

export function databaseSettings(name = BENCH_DB): DatabaseSettings {
  return {
    host: process.env.DB_HOST ?? '127.0.0.1',
    port: Number(process.env.DB_PORT ?? 3306),
    user: process.env.DB_USER ?? 'root',
    password: process.env.DB_PASSWORD ?? '',
    name,
    poolSize: 20,
    migrateOnStart: false,
  };
}

/**
 * The app's settings in a benchmark: production defaults (pool size, logging at `log`, recovery slots on)
 * except what would make the run measure something else: no consumers, reconciler, order checks or daily
 * reconciliation running in the background, and the first gateway query an hour away, a barcode payment's
 * too (so the slots sweep as in production, but find nothing due during the run).
 */
export function appEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const db = databaseSettings();
  return {
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_USER: db.user,
    DB_PASSWORD: db.password,
    DB_NAME: db.name,
    DB_MIGRATE_ON_START: 'false',
    REDIS_URL: BENCH_REDIS_URL,
    RABBITMQ_URL: BENCH_RABBITMQ_URL,
    RECOVERY_QUEUE_PREFIX: BENCH_QUEUE_PREFIX,
    PARTNERS: JSON.stringify([BENCH_PARTNER]),
    ORDERS_PARTNER: BENCH_PARTNER.name,
    CONSUMERS_ENABLED: 'false',
    RECONCILER_ENABLED: 'false',
    ORDERS_CHECK_ENABLED: 'false',
    RECONCILIATION_ENABLED: 'false',
    RECOVERY_JOBS_ENABLED: 'true',
    PAYMENT_QUERY_SCHEDULE: '1h',
    BARCODE_QUERY_EVERY: '1h',
    LOG_LEVEL: 'log',
    BENCH_KEYS_DIR: BENCH_KEYS_DIR,
    ACCOUNT_KEKS: BENCH_ACCOUNT_KEKS,
    ADMIN_TOKENS: JSON.stringify([{ name: 'bench', token: BENCH_ADMIN_TOKEN, scopes: ['accounts:write'] }]),
    ...overrides,
  };
}
