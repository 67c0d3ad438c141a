import { plainToInstance } from 'class-transformer';
import { IsIn, IsNotEmpty, IsString, Matches, validateSync, type ValidationError } from 'class-validator';
import { failClosedProblems, SANDBOX_IN_PRODUCTION_OPT_IN } from './fail-closed';
import { Bool, Cron, Durations, Int, naming, Origin, Pattern, Setting, settingDoc } from './setting';
import { parseKeks } from '../gateways/accounts/secret-box';
import {
  ADMIN_SCOPES,
  parseAdminTokens,
  parsePartners,
  parseRabbitmqUrls,
  parseRedisSentinels,
  parseTrustProxy,
} from './setting-values';

// The readers of structured values (setting-values.ts), importable with the schema they read.
export {
  ADMIN_SCOPES,
  type AdminScope,
  type AdminTokenConfig,
  parseAdminTokens,
  parseDurationList,
  parsePartners,
  parseRabbitmqUrls,
  parseRedisSentinels,
  parseTrustProxy,
  type PartnerConfig,
  type RedisSentinelAddress,
} from './setting-values';

/**
 * Every setting the app reads, written once: its name, type, default for a local run, validation, group and
 * documentation. `.env.example` is generated from it (`npm run config:docs`) and a unit test fails when they
 * differ; the app refuses to start when a value is missing or malformed and names the key. No default is a
 * secret: secrets a local run needs are generated at start (local-secrets.ts), and NODE_ENV=production refuses
 * to start without them (fail-closed.ts).
 */
export class Environment {
  @Setting(
    'mode',
    'production (the Dockerfile sets it): the app refuses to start on the sandbox without the opt-in ' +
      "ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION, without PARTNERS and METRICS_TOKEN, with RabbitMQ's guest user, or with " +
      'a sandbox URL or key in live mode, and the queue board cookie is always `Secure`. Empty or anything else: a ' +
      'local run (sandbox by default, a random Orders event key when PARTNERS is not set).',
    { example: '' },
  )
  @IsString()
  NODE_ENV = 'development';

  @Setting('http', 'HTTP port of the REST API.')
  @Int(1, 65535)
  PORT = 3000;

  @Setting('database', 'Host name or address of the database server.')
  @IsString()
  @IsNotEmpty()
  DB_HOST = '127.0.0.1';

  @Setting('database', 'Its port.')
  @Int(1, 65535)
  DB_PORT = 3306;

  @Setting('database', 'The user the app connects as.')
  @IsString()
  @IsNotEmpty()
  DB_USER = 'root';

  @Setting('database', "That user's password (empty is a password: none).", { secret: true, emptyIsAValue: true })
  @IsString()
  DB_PASSWORD = '';

  @Setting(
    'database',
    'Schema name (letters, digits, underscores). Created at start if missing when DB_MIGRATE_ON_START=true.',
  )
  @Pattern(/^[A-Za-z0-9_]{1,64}$/, 'must be 1-64 letters, digits or underscores')
  DB_NAME = 'payment_center';

  @Setting('database', 'Connections in the pool of each app instance (1-200).')
  @Int(1, 200)
  DB_POOL_SIZE = 20;

  @Setting(
    'database',
    'Create the schema if missing and run pending migrations at start (true/false). With false, run ' +
      '`npm run migration:run` yourself before starting a new version.',
  )
  @Bool()
  DB_MIGRATE_ON_START = true;

  @Setting(
    'redis',
    'Redis for the duplicate-submission guard and the recovery slot job (Bull). redis:// or rediss://.',
    { secret: 'url-password' },
  )
  @Pattern(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
  REDIS_URL = 'redis://127.0.0.1:6379';

  @Setting(
    'redis',
    'Redis Sentinel: the sentinels to ask where the master is, comma-separated host:port (10.0.0.5:26379,' +
      '10.0.0.6:26379,10.0.0.7:26379). Every Redis client of the app (the guard, the recovery slot job) then follows ' +
      'the master through a failover; REDIS_URL still gives the password, database number and TLS, its host and ' +
      'port are not used. The sentinels themselves are reached without a password or TLS. Empty: REDIS_URL directly ' +
      '(docs/scaling.md).',
  )
  @IsString()
  REDIS_SENTINELS = '';

  @Setting('redis', 'The master name the sentinels monitor (`sentinel monitor <name> …`), with REDIS_SENTINELS.')
  @Pattern(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, . _ -')
  REDIS_SENTINEL_NAME = 'mymaster';

  @Setting(
    'rabbitmq',
    'RabbitMQ for payment events to business systems. amqp:// or amqps://. The nodes of a cluster: their URLs, ' +
      'comma-separated (the same user and virtual host on each); the app connects to one, moves on to the next in ' +
      'turn when it does not answer or the link drops, and the partner queues are quorum queues, replicated ' +
      'across the nodes (docs/scaling.md). With NODE_ENV=production the user of every URL must be one of the Payment ' +
      "Center's own: guest (also what a URL without a user logs in as) is refused.",
    { secret: 'url-password' },
  )
  @Pattern(/^amqps?:\/\/.+/, 'must be an amqp:// or amqps:// URL')
  RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

  @Setting('orders', 'How long a new order can be paid, in seconds (60 to 604800). 1800 = 30 minutes.')
  @Int(60, 7 * 24 * 3600)
  ORDER_EXPIRES_IN_SECONDS = 1800;

  @Setting(
    'orders',
    "Largest order total accepted, in fen (1 to 2147483647, WeChat Pay's limit). 10000000 = 100,000.00 CNY.",
  )
  // WeChat Pay's `amount.total` is a 32-bit signed integer of fen: nothing larger can be paid anywhere.
  @Int(1, 2_147_483_647)
  ORDER_MAX_AMOUNT_FEN = 10_000_000;

  @Setting(
    'idempotency',
    'How long a completed request with a client Idempotency-Key is remembered and replayed (seconds).',
  )
  @Int(1, 7 * 24 * 3600)
  IDEMPOTENCY_KEY_TTL_SECONDS = 86_400;

  @Setting(
    'idempotency',
    'How long a request without an Idempotency-Key is treated as a double click of the same body (seconds).',
  )
  @Int(1, 3600)
  IDEMPOTENCY_DERIVED_TTL_SECONDS = 10;

  @Setting(
    'idempotency',
    'How long a request holds its key while it runs (seconds). Keep it above GATEWAY_TIMEOUT_MS: a duplicate ' +
      'arriving while the first request runs gets 409; if the process dies, the key frees itself after this.',
  )
  @Int(1, 3600)
  IDEMPOTENCY_IN_FLIGHT_TTL_SECONDS = 60;

  @Setting(
    'gateways',
    'Timeout of every call to a payment gateway, in milliseconds (100 to 60000). A timeout is "unknown", ' +
      'never "failed": the payment stays open and is queried.',
  )
  @Int(100, 60_000)
  GATEWAY_TIMEOUT_MS = 10_000;

  @Setting(
    'gateways',
    'Key-encryption keys for the secrets of channel accounts stored in the database (merchant private keys, ' +
      'APIv3 keys, app auth tokens), AES-256-GCM: `<id>:<base64 of 32 bytes>`, comma-separated ' +
      '(`openssl rand -base64 32`). Several during a rotation: values name the key they were sealed with, and ' +
      '`npm run accounts -- reencrypt` moves them all to ACCOUNT_KEK_ID. Empty: only the default account of each ' +
      'channel (the settings below) can be used, and creating an account is refused.',
    { secret: true },
  )
  @IsString()
  ACCOUNT_KEKS = '';

  @Setting('gateways', 'Which ACCOUNT_KEKS id seals new values (may stay empty when there is one key).')
  @Pattern(/^[A-Za-z0-9_-]{0,32}$/, 'must be a key id of ACCOUNT_KEKS (letters, digits, - and _)')
  ACCOUNT_KEK_ID = '';

  @Setting(
    'gateways',
    "How long an instance uses a channel account and the applications' account bindings as it read them before " +
      'checking for a change (milliseconds). A change made through this instance applies at once; other ' +
      'instances see it within this time.',
  )
  @Int(0, 60_000)
  ACCOUNT_CACHE_MS = 2000;

  @Setting(
    'recovery',
    'When to query the gateway about a payment that has no result yet: first delay after entering PAYING, ' +
      'then the gaps between the following queries (ms, s, m or h).',
  )
  @Durations('must be a comma-separated list like 30s,10s,20s,30s')
  PAYMENT_QUERY_SCHEDULE = '30s,10s,20s,30s';

  @Setting(
    'recovery',
    'After that schedule: the gaps between further queries (the last one repeats) until the order expires, ' +
      'and between attempts to close the trade at expiry.',
  )
  @Durations('must be a comma-separated list like 1m,2m,5m,10m')
  PAYMENT_QUERY_LONG_TAIL = '1m,2m,5m,10m';

  @Setting(
    'recovery',
    'Close attempts without a definite gateway answer before the payment goes to NEEDS_REVIEW (1 to 100).',
  )
  @Int(1, 100)
  PAYMENT_CLOSE_ATTEMPTS = 5;

  @Setting('recovery', 'How often a payment in NEEDS_REVIEW for want of a gateway answer is still queried.')
  @Durations('must be a duration like 1h')
  PAYMENT_REVIEW_REQUERY = '1h';

  @Setting(
    'recovery',
    'A refund still without a definite gateway answer (no answer, in process, or a refusal the vendor means as ' +
      '"not now", such as WeChat NOT_ENOUGH) this long after it was made goes to NEEDS_REVIEW for an operator, ' +
      'with a payment.refund_needs_review event.',
  )
  @Durations('must be a duration like 24h')
  REFUND_REVIEW_AFTER = '24h';

  @Setting(
    'recovery',
    'POST /api/payments/:paymentNo/sync (and /api/refunds/:refundNo/sync) asks the vendor at most once per payment ' +
      'or refund in this time; a sync sooner is 429 SYNC_TOO_SOON with Retry-After.',
  )
  @Durations('must be a duration like 10s')
  PAYMENT_SYNC_INTERVAL = '10s';

  @Setting(
    'recovery',
    'The Bull side of recovery: this process keeps the one repeatable slot job in Redis and works its slots, ' +
      'each a sweep of the payments and refunds due by then (true/false). Off: the reconciler alone.',
  )
  @Bool()
  RECOVERY_JOBS_ENABLED = true;

  @Setting(
    'recovery',
    'The length of a recovery slot (milliseconds): a row due at T is worked in the first slot after T. One ' +
      'slot job per slot across all instances; the instances of one deployment share the value.',
  )
  @Int(100, 60_000)
  RECOVERY_SLOT_MS = 1000;

  @Setting('recovery', "Prefix of the Bull queue's Redis keys (instances that share jobs share the prefix).")
  @Pattern(/^[a-z0-9:_-]{1,64}$/, 'must be 1-64 of a-z 0-9 : _ -')
  RECOVERY_QUEUE_PREFIX = 'payment-center';

  @Setting(
    'recovery',
    'The reconciler: the safety net that finds due payments in the database when the slot job does not run ' +
      '(Redis down or lost, RECOVERY_JOBS_ENABLED off everywhere) (true/false).',
  )
  @Bool()
  RECONCILER_ENABLED = true;

  @Setting('recovery', 'When the reconciler runs (cron with seconds).')
  @Cron('*/5 * * * * *')
  RECONCILER_CRON = '*/5 * * * * *';

  @Setting('recovery', 'How many due rows a sweep (a recovery slot or a reconciler tick) claims at once.')
  @Int(1, 1000)
  RECONCILER_BATCH_SIZE = 50;

  @Setting(
    'recovery',
    'How long past due a row must be before the reconciler takes it, so that the slot job goes first ' +
      '(milliseconds).',
  )
  @Int(0, 3_600_000)
  RECONCILER_GRACE_MS = 10_000;

  @Setting('recovery', 'Run the daily statement reconciliation in this process (true/false).')
  @Bool()
  RECONCILIATION_ENABLED = true;

  @Setting(
    'recovery',
    "When (cron with seconds, Beijing time) the statement reconciliation compares each channel's bill for " +
      'yesterday with our ledger. Vendors publish bills from about 10:00; a day already reconciled is skipped.',
  )
  @Cron('0 30 10-23 * * *')
  RECONCILIATION_CRON = '0 30 10-23 * * *';

  @Setting(
    'recovery',
    "Run Orders' own timer in this process (true/false): a business application must not rely on events alone.",
  )
  @Bool()
  ORDERS_CHECK_ENABLED = true;

  @Setting(
    'recovery',
    "How often Orders' timer looks (cron with seconds): it asks the PaymentCenter about orders whose payment " +
      'has been silent for ORDERS_PAYMENT_CHECK_AFTER, and closes expired orders that no payment can still pay.',
  )
  @Cron('*/10 * * * * *')
  ORDERS_CHECK_CRON = '*/10 * * * * *';

  @Setting('recovery', "How long a payment may be silent before Orders' timer asks about it.")
  @Durations('must be a duration like 60s')
  ORDERS_PAYMENT_CHECK_AFTER = '60s';

  @Setting(
    'barcode',
    "A barcode (payment code) payment without a definite answer is queried this often (WeChat's and Alipay's " +
      'counter guides: every 5 s to 10 s)…',
  )
  @Durations('must be a duration like 5s')
  BARCODE_QUERY_EVERY = '5s';

  @Setting(
    'barcode',
    '…for this long after the pay, then reversed (WeChat Pay asks for 30 s in its older guide, 45 s in its newer; ' +
      'Alipay 25 s). Never shorter than BARCODE_REVERSE_NOT_BEFORE.',
  )
  @Durations('must be a duration like 30s')
  BARCODE_QUERY_FOR = '30s';

  @Setting('barcode', 'The earliest a barcode payment is reversed after its pay call (WeChat Pay: at least 15 s).')
  @Durations('must be a duration like 15s')
  BARCODE_REVERSE_NOT_BEFORE = '15s';

  @Setting(
    'barcode',
    "How long a counter's pay request waits for a definite answer before it answers PAYING (the counter then " +
      'long-polls GET /api/payments/{paymentNo}?waitSeconds=N).',
  )
  @Durations('must be a duration like 10s')
  BARCODE_ANSWER_WAIT = '10s';

  @Setting('barcode', 'The longest wait GET /api/payments/{paymentNo}?waitSeconds=N may ask for (seconds, 1 to 60).')
  @Int(1, 60)
  PAYMENT_WAIT_MAX_SECONDS = 30;

  @Setting(
    'identity',
    "The WeChat official account's AppSecret (WECHAT_APPID's): WeChat's OAuth (snsapi_base) tells the buyer's " +
      'openid for in-app payments. Empty: no WeChat buyer identity (live mode). The sandbox has its own.',
    { secret: true },
  )
  @IsString()
  WECHAT_APP_SECRET = '';

  @Setting('identity', "WeChat's OAuth page the buyer's WeChat opens (connect/oauth2/authorize).")
  @IsString()
  WECHAT_OAUTH_AUTHORIZE_URL = 'https://open.weixin.qq.com/connect/oauth2/authorize';

  @Setting('identity', "Base URL of WeChat's OAuth API (sns/oauth2/access_token exchanges the code for the openid).")
  @IsString()
  WECHAT_OAUTH_API_URL = 'https://api.weixin.qq.com';

  @Setting(
    'identity',
    "Alipay's user authorisation page the buyer's Alipay opens (oauth2/publicAppAuthorize.htm, scope auth_base); the " +
      "code is exchanged with ALIPAY_APP_ID's keys. Empty: no Alipay buyer identity (live mode). The sandbox has its own.",
  )
  @IsString()
  ALIPAY_OAUTH_AUTHORIZE_URL = 'https://openauth.alipay.com/oauth2/publicAppAuthorize.htm';

  @Setting('identity', 'How long a buyer-identity request (and what it learnt) is kept for the merchant to read.')
  @Durations('must be a duration like 10m')
  BUYER_IDENTITY_TTL = '10m';

  @Setting(
    'partners',
    'Business systems that receive payment events: a JSON array of ' +
      '{"name": "erp", "bindings": ["payment.#"], "keyId": "erp-1", "secret": "<at least 32 characters>"}. ' +
      'name: lowercase letters, digits, -; its durable quorum queue is partner.<name>. bindings: routing-key ' +
      'patterns. keyId + secret: the HMAC key the partner verifies x-pc-signature with (unique key ids). To ' +
      'rotate it, keys: [{"keyId", "secret"}, {"keyId", "secret"}] instead: the first signs, the second is the ' +
      'next (or the retiring) key (docs/events.md, key rotation). Optional applications: ["app_…"] ' +
      "restricts the partner to those applications' payments (a shop's own backend); without it the partner " +
      "receives every application's events; our Orders module's entry (ORDERS_PARTNER) may not have one " +
      '(docs/events.md). A secret has at least 32 characters ' +
      '(`openssl rand -hex 32`); published placeholders are refused. Include our own Orders module ' +
      '(ORDERS_PARTNER) with a secret of its own. Not set: required with NODE_ENV=production; a local run ' +
      'registers only the Orders module, with a random key made at start (logged without the key).',
    { secret: true, example: '' },
  )
  @IsString()
  PARTNERS = '[]';

  @Setting('partners', 'Which PARTNERS entry is our own Orders module (its queue and key).')
  @Pattern(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be a partner name')
  ORDERS_PARTNER = 'orders';

  @Setting(
    'partners',
    'Run the consumers in this process: the Orders consumer and the dead-letter watcher (true/false).',
  )
  @Bool()
  CONSUMERS_ENABLED = true;

  @Setting(
    'partners',
    'Redeliveries a partner queue allows before it dead-letters a message a consumer keeps failing on ' +
      '(quorum x-delivery-limit). Fixed when the queue is first declared; changing it later needs the queue ' +
      'recreated.',
  )
  @Int(1, 100)
  PARTNER_DELIVERY_LIMIT = 5;

  @Setting(
    'partners',
    'Our Orders consumer waits this long before handing back a message it failed on (database down...), ' +
      'doubling with each redelivery up to 8x, so the delivery limit spans a short outage instead of being ' +
      'spent at once (milliseconds).',
  )
  @Int(0, 60_000)
  CONSUMER_RETRY_DELAY_MS = 1000;

  @Setting('relay', 'Run the outbox relay in this process (true/false).')
  @Bool()
  RELAY_ENABLED = true;

  @Setting('relay', 'Safety-net poll for events not published right after their commit (milliseconds).')
  @Int(50, 60_000)
  RELAY_POLL_INTERVAL_MS = 1000;

  @Setting('relay', 'A publish not confirmed within this time fails and is retried with backoff (milliseconds).')
  @Int(100, 60_000)
  RELAY_PUBLISH_TIMEOUT_MS = 5000;

  @Setting('relay', 'Events claimed per pass.')
  @Int(1, 1000)
  RELAY_BATCH_SIZE = 50;

  @Setting('relay', 'How long a relay holds claimed events before another instance may take them over (milliseconds).')
  @Int(1000, 600_000)
  RELAY_CLAIM_LEASE_MS = 30_000;

  @Setting(
    'webhooks',
    'A webhook POST without a complete answer within this time fails and is retried on the schedule ' +
      '(milliseconds; the partner should answer 2xx first and work after).',
  )
  @Int(100, 60_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  @Setting(
    'webhooks',
    'The waits between the sends of a webhook delivery that keeps failing, each with ±20% jitter; after the last, ' +
      'the delivery is FAILED for the admin list (the default spans about a day: docs/webhooks.md).',
  )
  @Durations('must be a comma-separated list like 15s,1m,5m,1h')
  WEBHOOK_RETRY_SCHEDULE = '15s,1m,5m,15m,30m,1h,2h,4h,8h,8h';

  @Setting('webhooks', 'POSTs in flight at once to one webhook partner (per instance).')
  @Int(1, 256)
  WEBHOOK_CONCURRENCY = 8;

  @Setting(
    'webhooks',
    "Failed sends in a row after which a partner's circuit opens: its deliveries wait (no send, no attempt " +
      'spent) while the others go on.',
  )
  @Int(1, 1000)
  WEBHOOK_CIRCUIT_FAILURES = 5;

  @Setting('webhooks', 'How long an open circuit waits before one trial send; each failed trial doubles it, up to 32x.')
  @Durations('must be a duration like 30s')
  WEBHOOK_CIRCUIT_COOLDOWN = '30s';

  @Setting(
    'webhooks',
    'Networks (CIDR, comma-separated) a webhook may reach although they are not public, such as a partner on ' +
      'the same private network: 10.20.0.0/16. Empty: only public addresses (and loopback outside production).',
    { example: '' },
  )
  @IsString()
  WEBHOOK_ALLOWED_NETWORKS = '';

  @Setting(
    'webhooks',
    "Outside production: webhooks may reach loopback (a receiver on the developer's machine) (true/false). " +
      'Production never does unless WEBHOOK_ALLOWED_NETWORKS lists it.',
  )
  @Bool()
  WEBHOOK_ALLOW_LOOPBACK = true;

  @Setting('events', 'How long events are kept for GET /api/events and for replays (e.g. 30d); older ones are purged.')
  @Durations('must be a duration like 30d')
  EVENTS_RETENTION = '30d';

  @Setting(
    'events',
    'GET /api/events lists an event once it is this old (milliseconds): an event written by a transaction that ' +
      'commits later than a newer one would otherwise be passed by a reader paging with `after`.',
  )
  @Int(0, 60_000)
  EVENTS_FEED_DELAY_MS = 2000;

  @Setting(
    'admin',
    'Admin API bearer tokens (compared in constant time): a JSON array of ' +
      '{"name": "ops-alice", "token": "<at least 32 characters>", "scopes": ["deliveries:read", "deliveries:retry"]}. ' +
      `Scopes: ${ADMIN_SCOPES.join(', ')} (queues:read opens the queue board at /admin/queues). The console ` +
      'at /admin signs in with one. Empty: the admin API refuses every call.',
    { secret: true },
  )
  @IsString()
  ADMIN_TOKENS = '[]';

  @Setting(
    'proxy',
    "Proxies to believe about the client's address and scheme (X-Forwarded-For/-Proto), Express's 'trust proxy': " +
      'empty (none), a hop count (1: the nearest proxy), or addresses, CIDR ranges, loopback, linklocal, ' +
      'uniquelocal, comma-separated. Set it behind a TLS-terminating proxy or load balancer: it is what makes a ' +
      "request count as HTTPS (the queue board's session cookie is `Secure` then, and always with " +
      'NODE_ENV=production). `true` (believe anyone) is refused.',
  )
  @IsString()
  TRUST_PROXY = '';

  @Setting(
    'metrics',
    'GET /metrics (Prometheus): the bearer token (at least 32 characters) the scraper must send, ' +
      '`Authorization: Bearer <token>`. Required with NODE_ENV=production; empty in a local run: /metrics is open.',
    { secret: true },
  )
  @Pattern(/^\S*$/, 'must have no spaces')
  METRICS_TOKEN = '';

  @Setting('metrics', 'How long the gauges read from the database are reused between scrapes (milliseconds).')
  @Int(0, 60_000)
  METRICS_DB_CACHE_MS = 5000;

  @Setting(
    'sandbox',
    'Payment gateways. sandbox: every provider talks to the gateway sandbox (started by `npm start`) with test ' +
      'keys generated into SANDBOX_KEYS_DIR; live: the vendors, with the merchant settings below. With ' +
      'NODE_ENV=production, sandbox (also when not set) is refused unless ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION ' +
      "is set, and live refuses https-less URLs, the sandbox's URL and key files from a sandbox key folder.",
  )
  @IsIn(['sandbox', 'live'])
  GATEWAY_MODE: 'sandbox' | 'live' = 'sandbox';

  @Setting(
    'sandbox',
    `A production process on the sandbox (a demo of the production image): empty, or exactly ` +
      `${SANDBOX_IN_PRODUCTION_OPT_IN}. It logs a warning at every start.`,
  )
  @Pattern(
    new RegExp(`^(${SANDBOX_IN_PRODUCTION_OPT_IN})?$`),
    `must be empty or exactly ${SANDBOX_IN_PRODUCTION_OPT_IN}`,
  )
  ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION = '';

  @Setting(
    'sandbox',
    'Where the sandbox listens; `npm start` starts it on this port (on 127.0.0.1 unless SANDBOX_HOST says otherwise).',
  )
  @Origin()
  SANDBOX_URL = 'http://127.0.0.1:4010';

  @Setting(
    'sandbox',
    "The sandbox's generated test keys (never real ones), shared by the app and the sandbox (created if missing).",
  )
  @IsString()
  @IsNotEmpty()
  SANDBOX_KEYS_DIR = 'var/sandbox-keys';

  @Setting(
    'sandbox',
    "This service's address as the vendors reach it; callback URLs are " +
      '<PUBLIC_BASE_URL>/api/payments/notify/<channel>.',
  )
  @Origin()
  PUBLIC_BASE_URL = 'http://127.0.0.1:3000';

  @Setting('wechat', 'Base URL of the WeChat Pay API.')
  @IsString()
  WECHAT_API_BASE_URL = 'https://api.mch.weixin.qq.com';

  @Setting('wechat', 'Merchant id (mchid).')
  @IsString()
  WECHAT_MCHID = '';

  @Setting('wechat', 'The app id the merchant is bound to (appid).')
  @IsString()
  WECHAT_APPID = '';

  @Setting(
    'wechat',
    "The merchant's mini-programs, comma-separated app ids: in-app payments may name one (`appId`), and their " +
      'notifications are believed. Empty: the official account (WECHAT_APPID) only.',
  )
  @Pattern(/^(wx[0-9a-f]{16}(,wx[0-9a-f]{16})*)?$/, 'must be comma-separated WeChat app ids (wx + 16 hex digits)')
  WECHAT_MINI_PROGRAM_APP_IDS = '';

  @Setting(
    'wechat',
    "The merchant's mobile apps (WeChat Open Platform app ids bound to WECHAT_MCHID), comma-separated: APP " +
      'payments (mode `app`) are made under the first, or the one a pay request names (`appId`). Empty: no APP ' +
      'payments.',
  )
  @Pattern(/^(wx[0-9a-f]{16}(,wx[0-9a-f]{16})*)?$/, 'must be comma-separated WeChat app ids (wx + 16 hex digits)')
  WECHAT_MOBILE_APP_IDS = '';

  @Setting('wechat', 'Serial number of the merchant API certificate.')
  @IsString()
  WECHAT_MERCHANT_SERIAL_NO = '';

  @Setting('wechat', 'PEM file of the merchant API private key (apiclient_key.pem).')
  @IsString()
  WECHAT_MERCHANT_PRIVATE_KEY_FILE = '';

  @Setting(
    'wechat',
    'JSON object: platform certificate serial or PUB_KEY_ID_… → PEM file of that public key (both kinds ' +
      "during WeChat's migration to platform public keys).",
  )
  @IsString()
  WECHAT_PLATFORM_KEYS = '{}';

  @Setting('wechat', 'The 32-character APIv3 key (decrypts notifications).', { secret: true })
  @IsString()
  WECHAT_APIV3_KEY = '';

  @Setting('alipay', 'The Alipay openapi gateway.')
  @IsString()
  ALIPAY_GATEWAY_URL = 'https://openapi.alipay.com/gateway.do';

  @Setting('alipay', 'The application id (app_id).')
  @IsString()
  ALIPAY_APP_ID = '';

  @Setting('alipay', 'PEM file (PKCS#8) of the application private key.')
  @IsString()
  ALIPAY_APP_PRIVATE_KEY_FILE = '';

  @Setting('alipay', "PEM file of Alipay's public key (verifies responses and notifications).")
  @IsString()
  ALIPAY_PUBLIC_KEY_FILE = '';

  @Setting(
    'alipay',
    'Optional: the merchant\'s Alipay user id (16 digits, 2088…, "卖家支付宝用户号"). When set, a notification ' +
      'whose seller_id is another (or missing) is refused; when empty, seller_id is not checked.',
  )
  @Matches(/^(2088\d{12})?$/, naming('must be an Alipay user id: 16 digits starting 2088'))
  ALIPAY_SELLER_ID = '';

  @Setting(
    'alipay',
    "The merchant's mini-programs, comma-separated app ids (16 digits) bound to it in Alipay's product centre: " +
      'mini-program payments may name one (`appId`), sent to Alipay as op_app_id. Empty: the app itself ' +
      '(ALIPAY_APP_ID) only.',
  )
  @Pattern(/^([0-9]{16}(,[0-9]{16})*)?$/, 'must be comma-separated Alipay app ids (16 digits)')
  ALIPAY_MINI_PROGRAM_APP_IDS = '';

  @Setting('unionpay', 'The UnionPay gateway.')
  @IsString()
  UNIONPAY_GATEWAY_URL = 'https://gateway.95516.com';

  @Setting('unionpay', 'Its file download service (a host of its own), where reconciliation files come from.')
  @IsString()
  UNIONPAY_FILE_URL = 'https://filedownload.95516.com/';

  @Setting('unionpay', 'Merchant id (merId).')
  @IsString()
  UNIONPAY_MER_ID = '';

  @Setting('unionpay', 'PEM file of the merchant signing private key (export it from the .pfx).')
  @IsString()
  UNIONPAY_SIGN_KEY_FILE = '';

  @Setting(
    'unionpay',
    'PEM file of the merchant signing certificate (export it from the .pfx; its serial number is the certId).',
  )
  @IsString()
  UNIONPAY_SIGN_CERT_FILE = '';

  @Setting('unionpay', "PEM file of UnionPay's root certificate, which signPubKeyCert must chain to.")
  @IsString()
  UNIONPAY_ROOT_CERT_FILE = '';

  @Setting('unionpay', "PEM file of UnionPay's middle certificate, which signPubKeyCert must chain to.")
  @IsString()
  UNIONPAY_MIDDLE_CERT_FILE = '';

  @Setting(
    'unionpay',
    "Require signPubKeyCert to be issued to 中国银联股份有限公司 (false only for UnionPay's test environment: " +
      'refused while UNIONPAY_GATEWAY_URL is a production host under 95516.com, outside test.95516.com).',
  )
  @Bool()
  UNIONPAY_REQUIRE_UNIONPAY_CN = true;

  @Setting(
    'shutdown',
    'On SIGTERM: how long requests in flight, consumers, a recovery slot and the relay get to finish before the ' +
      'process exits 1 (milliseconds).',
  )
  @Int(1000)
  SHUTDOWN_TIMEOUT_MS = 25_000;

  @Setting(
    'logging',
    "JSON lines on stdout (pino). fatal, error, warn, log (= pino's info), debug or verbose (= trace).",
  )
  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  @Setting(
    'logging',
    'At most this many bytes of log lines wait in memory while stdout is not read; past it lines are dropped ' +
      'whole, counted (payment_center_log_lines_dropped_total), and an error line says how many once it is read.',
  )
  @Int(65_536)
  LOG_BUFFER_MAX_BYTES = 16_777_216;
}

/** Each setting's default, for code that runs before the environment is validated (the launcher). */
export const DEFAULTS: Readonly<Environment> = Object.freeze(new Environment());

/** The keys of the schema, in its order (the order of `.env.example`). */
export const SETTING_KEYS = Object.keys(DEFAULTS) as (keyof Environment)[];

export class InvalidEnvironment extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidEnvironment';
  }
}

/** Validates raw environment values; throws InvalidEnvironment naming every bad key. */
export function validateEnvironment(raw: Record<string, unknown>): Environment {
  const known: readonly string[] = SETTING_KEYS;
  // Empty strings in a .env mean "unset" except where empty is a legal value (a blank DB password).
  const present = Object.fromEntries(
    Object.entries(raw).filter(
      ([key, value]) => known.includes(key) && (value !== '' || settingDoc(key).emptyIsAValue),
    ),
  );
  const env = plainToInstance(Environment, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: true });
  const problems = errors.map((e) => describe(e, raw));
  const invalid = (key: keyof Environment) => errors.some((e) => e.property === key);
  const parse = <T>(
    key: 'PARTNERS' | 'ADMIN_TOKENS' | 'TRUST_PROXY' | 'RABBITMQ_URL' | 'REDIS_SENTINELS',
    parser: (json: string) => T,
  ): T | undefined => {
    if (invalid(key)) return undefined;
    try {
      return parser(env[key]);
    } catch (error) {
      problems.push(`${key}=${shown(key, raw[key])}: ${(error as Error).message}`);
      return undefined;
    }
  };
  parse('TRUST_PROXY', parseTrustProxy);
  parse('REDIS_SENTINELS', parseRedisSentinels);
  if (!invalid('ACCOUNT_KEKS') && !invalid('ACCOUNT_KEK_ID')) {
    try {
      parseKeks(env.ACCOUNT_KEKS, env.ACCOUNT_KEK_ID);
    } catch (error) {
      problems.push(`ACCOUNT_KEKS=${shown('ACCOUNT_KEKS', raw.ACCOUNT_KEKS)}: ${(error as Error).message}`);
    }
  }
  const parsed = {
    partners: parse('PARTNERS', (json) => parsePartners(json, env.ORDERS_PARTNER)),
    adminTokens: parse('ADMIN_TOKENS', parseAdminTokens),
    rabbitmqUrls: parse('RABBITMQ_URL', parseRabbitmqUrls),
  };
  // The cross-key rules need every key they read to be well-formed; those already reported are enough.
  const crossKeys: (keyof Environment)[] = ['NODE_ENV', 'GATEWAY_MODE', 'RABBITMQ_URL', 'METRICS_TOKEN'];
  if (!crossKeys.some(invalid)) problems.push(...failClosedProblems(env, raw, parsed));
  if (problems.length > 0) throw new InvalidEnvironment(problems);
  return env;
}

/**
 * A value as a refusal may print it: secrets never, a URL's password masked (@Setting's `secret`), every URL's
 * of a comma-separated list (RABBITMQ_URL's nodes), also one written without its scheme.
 */
function shown(key: string, value: unknown): string {
  if (value === undefined) return '(not set)';
  const { secret } = settingDoc(key);
  if (secret === true) return '(set, not shown)';
  if (secret === 'url-password' && typeof value === 'string') {
    return JSON.stringify(value.replace(/(^|\/\/|,)([^:@/,]*):[^@/]*@/g, '$1$2:***@'));
  }
  return JSON.stringify(value);
}

function describe(error: ValidationError, raw: Record<string, unknown>): string {
  const reasons = Object.values(error.constraints ?? {}).join('; ');
  return `${error.property}=${shown(error.property, raw[error.property])}: ${reasons}`;
}
