import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  type AdminTokenConfig,
  Environment,
  parseAdminTokens,
  parseDurationList,
  parsePartners,
  parseRabbitmqUrls,
  parseRedisSentinels,
  parseTrustProxy,
  type PartnerConfig,
  type RedisSentinelAddress,
} from './environment';
import { type KeyEncryptionKeys, parseKeks } from '../gateways/accounts/secret-box';
import { type AddressPolicy, parseAllowedNetworks } from '../notifications/webhook/address-policy';

/**
 * Typed, grouped view of the validated environment. Features inject this, never process.env.
 */
@Injectable()
export class AppConfig {
  readonly port: number;
  readonly database: {
    host: string;
    port: number;
    user: string;
    password: string;
    name: string;
    poolSize: number;
    migrateOnStart: boolean;
  };
  /** Redis: with `sentinel`, only the password, database number and TLS of this URL are used. */
  readonly redisUrl: string;
  /** Redis Sentinel (REDIS_SENTINELS): the sentinels and the master name; undefined: `redisUrl` directly. */
  readonly redisSentinel: { sentinels: readonly RedisSentinelAddress[]; name: string } | undefined;
  /** RabbitMQ: one node, or the nodes of one cluster, tried in turn. */
  readonly rabbitmqUrls: readonly string[];
  readonly orders: {
    expiresInMs: number;
    maxAmountFen: number;
    /** Orders' own timer: how often it looks, and how long a payment may be silent before it asks. */
    check: { enabled: boolean; cron: string; afterMs: number };
  };
  readonly idempotency: { explicitKeyTtlMs: number; derivedKeyTtlMs: number; inFlightTtlMs: number };
  readonly gateways: { timeoutMs: number };
  /** Channel accounts stored in the database: their secrets' KEKs, and how long a read is reused. */
  readonly accounts: { keks: KeyEncryptionKeys | undefined; cacheMs: number };
  /** How payments without a result are recovered: active queries, closing at expiry, review. */
  readonly recovery: {
    /** Delays between active queries of a PAYING payment; the first one counts from entering PAYING. */
    queryScheduleMs: readonly number[];
    /** After the schedule: these gaps (the last one repeating) until expiry, and between close attempts. */
    longTailMs: readonly number[];
    /** Close attempts without a definite answer before the payment goes to NEEDS_REVIEW. */
    closeAttempts: number;
    /** How often a payment in review for want of an answer is still asked about. */
    reviewRequeryMs: number;
    /** A refund without a definite gateway answer this long after it was made goes to review. */
    refundReviewAfterMs: number;
    /** A business application's sync asks the vendor at most once per payment or refund in this time. */
    syncIntervalMs: number;
    /** The Bull side of recovery: the repeatable slot job kept and worked by this process. */
    jobsEnabled: boolean;
    /** The slot job's period: rows due at T are worked in the first slot after T. */
    slotMs: number;
    queuePrefix: string;
    reconcilerEnabled: boolean;
    reconcilerCron: string;
    reconcilerBatchSize: number;
    /** The reconciler takes a row only this long after it was due, so that the slot job goes first. */
    reconcilerGraceMs: number;
  };
  /** Barcode payments (payment codes at a counter): their query window and reverse, and the counter's waits. */
  readonly barcode: {
    queryEveryMs: number;
    queryForMs: number;
    reverseNotBeforeMs: number;
    answerWaitMs: number;
    waitMaxSeconds: number;
  };
  /** The daily statement reconciliation: when it runs (cron, Beijing time), for yesterday's bills. */
  readonly reconciliation: { enabled: boolean; cron: string };
  readonly logLevel: Environment['LOG_LEVEL'];
  /** Bytes of log lines that may wait for stdout before lines are dropped. */
  readonly logBufferMaxBytes: number;
  readonly gatewayMode: 'sandbox' | 'live';
  readonly sandbox: { url: string; keysDir: string };
  /** This service's address as vendors reach it (notification URLs). */
  readonly publicBaseUrl: string;
  /** Live UnionPay settings, as given (checked when GATEWAY_MODE=live). */
  readonly unionpayLive: {
    baseUrl: string;
    fileUrl: string;
    merId: string;
    signKeyFile: string;
    signCertFile: string;
    rootCertFile: string;
    middleCertFile: string;
    requireUnionPayCn: boolean;
  };
  /** Live Alipay settings, as given (checked when GATEWAY_MODE=live). */
  readonly alipayLive: {
    gatewayUrl: string;
    appId: string;
    appPrivateKeyFile: string;
    alipayPublicKeyFile: string;
    /** Empty: seller_id is not checked. */
    sellerId: string;
    miniProgramAppIds: readonly string[];
  };
  /** Live WeChat Pay settings, as given (checked when GATEWAY_MODE=live). */
  /** Buyer identity (the vendors' OAuth for in-app payments): see src/gateways/identity. */
  readonly identity: {
    wechatAppSecret: string;
    wechatAuthorizeUrl: string;
    wechatApiUrl: string;
    /** Empty: no Alipay buyer identity in live mode. */
    alipayAuthorizeUrl: string;
    ttlMs: number;
  };
  readonly wechatLive: {
    baseUrl: string;
    mchid: string;
    appid: string;
    miniProgramAppIds: readonly string[];
    mobileAppIds: readonly string[];
    merchantSerialNo: string;
    merchantPrivateKeyFile: string;
    platformKeys: string;
    apiV3Key: string;
  };
  readonly partners: readonly PartnerConfig[];
  readonly adminTokens: readonly AdminTokenConfig[];
  /** GET /metrics: the bearer token it requires (empty: none), and how long database gauges are reused. */
  readonly metrics: { token: string; dbCacheMs: number };
  readonly relay: {
    enabled: boolean;
    pollIntervalMs: number;
    publishTimeoutMs: number;
    batchSize: number;
    claimLeaseMs: number;
  };
  /** Partners over HTTP (docs/webhooks.md). */
  readonly webhooks: {
    timeoutMs: number;
    /** The waits between sends of a delivery that keeps failing; after the last it is FAILED. */
    retryScheduleMs: readonly number[];
    concurrency: number;
    circuitFailures: number;
    circuitCooldownMs: number;
    /** Which addresses a webhook may connect to (the SSRF guard). */
    addresses: AddressPolicy;
  };
  /** The events API: how long events are kept, and how old one must be to be listed. */
  readonly events: { retentionMs: number; feedDelayMs: number };
  readonly consumersEnabled: boolean;
  readonly ordersPartner: string;
  /** Redeliveries a partner queue allows before it dead-letters a message (quorum x-delivery-limit). */
  readonly partnerDeliveryLimit: number;
  /** Wait before the Orders consumer requeues a message it failed on; doubles per redelivery (to 8x). */
  readonly consumerRetryDelayMs: number;
  /** NODE_ENV=production. */
  readonly production: boolean;
  /** Express's 'trust proxy' (TRUST_PROXY): which proxies' X-Forwarded-* headers to believe. */
  readonly trustProxy: false | number | string[];

  constructor(@Inject(ConfigService) config: ConfigService<Environment, true>) {
    const env = <K extends keyof Environment>(key: K): Environment[K] => config.get(key, { infer: true });
    this.port = env('PORT');
    this.database = {
      host: env('DB_HOST'),
      port: env('DB_PORT'),
      user: env('DB_USER'),
      password: env('DB_PASSWORD'),
      name: env('DB_NAME'),
      poolSize: env('DB_POOL_SIZE'),
      migrateOnStart: env('DB_MIGRATE_ON_START'),
    };
    this.redisUrl = env('REDIS_URL');
    const sentinels = parseRedisSentinels(env('REDIS_SENTINELS'));
    this.redisSentinel = sentinels.length > 0 ? { sentinels, name: env('REDIS_SENTINEL_NAME') } : undefined;
    this.rabbitmqUrls = parseRabbitmqUrls(env('RABBITMQ_URL'));
    this.orders = {
      expiresInMs: env('ORDER_EXPIRES_IN_SECONDS') * 1000,
      maxAmountFen: env('ORDER_MAX_AMOUNT_FEN'),
      check: {
        enabled: env('ORDERS_CHECK_ENABLED'),
        cron: env('ORDERS_CHECK_CRON'),
        afterMs: parseDurationList(env('ORDERS_PAYMENT_CHECK_AFTER'))[0] ?? 60_000,
      },
    };
    this.idempotency = {
      explicitKeyTtlMs: env('IDEMPOTENCY_KEY_TTL_SECONDS') * 1000,
      derivedKeyTtlMs: env('IDEMPOTENCY_DERIVED_TTL_SECONDS') * 1000,
      inFlightTtlMs: env('IDEMPOTENCY_IN_FLIGHT_TTL_SECONDS') * 1000,
    };
    this.gateways = { timeoutMs: env('GATEWAY_TIMEOUT_MS') };
    this.accounts = { keks: parseKeks(env('ACCOUNT_KEKS'), env('ACCOUNT_KEK_ID')), cacheMs: env('ACCOUNT_CACHE_MS') };
    this.recovery = {
      queryScheduleMs: parseDurationList(env('PAYMENT_QUERY_SCHEDULE')),
      longTailMs: parseDurationList(env('PAYMENT_QUERY_LONG_TAIL')),
      closeAttempts: env('PAYMENT_CLOSE_ATTEMPTS'),
      reviewRequeryMs: parseDurationList(env('PAYMENT_REVIEW_REQUERY'))[0] ?? 3_600_000,
      refundReviewAfterMs: parseDurationList(env('REFUND_REVIEW_AFTER'))[0] ?? 86_400_000,
      syncIntervalMs: parseDurationList(env('PAYMENT_SYNC_INTERVAL'))[0] ?? 10_000,
      jobsEnabled: env('RECOVERY_JOBS_ENABLED'),
      slotMs: env('RECOVERY_SLOT_MS'),
      queuePrefix: env('RECOVERY_QUEUE_PREFIX'),
      reconcilerEnabled: env('RECONCILER_ENABLED'),
      reconcilerCron: env('RECONCILER_CRON'),
      reconcilerBatchSize: env('RECONCILER_BATCH_SIZE'),
      reconcilerGraceMs: env('RECONCILER_GRACE_MS'),
    };
    this.barcode = {
      queryEveryMs: parseDurationList(env('BARCODE_QUERY_EVERY'))[0] ?? 5000,
      queryForMs: parseDurationList(env('BARCODE_QUERY_FOR'))[0] ?? 30_000,
      reverseNotBeforeMs: parseDurationList(env('BARCODE_REVERSE_NOT_BEFORE'))[0] ?? 15_000,
      answerWaitMs: parseDurationList(env('BARCODE_ANSWER_WAIT'))[0] ?? 10_000,
      waitMaxSeconds: env('PAYMENT_WAIT_MAX_SECONDS'),
    };
    this.reconciliation = {
      enabled: env('RECONCILIATION_ENABLED'),
      cron: env('RECONCILIATION_CRON'),
    };
    this.logLevel = env('LOG_LEVEL');
    this.logBufferMaxBytes = env('LOG_BUFFER_MAX_BYTES');
    this.gatewayMode = env('GATEWAY_MODE');
    this.sandbox = { url: env('SANDBOX_URL'), keysDir: env('SANDBOX_KEYS_DIR') };
    this.publicBaseUrl = env('PUBLIC_BASE_URL');
    this.unionpayLive = {
      baseUrl: env('UNIONPAY_GATEWAY_URL'),
      fileUrl: env('UNIONPAY_FILE_URL'),
      merId: env('UNIONPAY_MER_ID'),
      signKeyFile: env('UNIONPAY_SIGN_KEY_FILE'),
      signCertFile: env('UNIONPAY_SIGN_CERT_FILE'),
      rootCertFile: env('UNIONPAY_ROOT_CERT_FILE'),
      middleCertFile: env('UNIONPAY_MIDDLE_CERT_FILE'),
      requireUnionPayCn: env('UNIONPAY_REQUIRE_UNIONPAY_CN'),
    };
    this.alipayLive = {
      gatewayUrl: env('ALIPAY_GATEWAY_URL'),
      appId: env('ALIPAY_APP_ID'),
      appPrivateKeyFile: env('ALIPAY_APP_PRIVATE_KEY_FILE'),
      alipayPublicKeyFile: env('ALIPAY_PUBLIC_KEY_FILE'),
      sellerId: env('ALIPAY_SELLER_ID'),
      miniProgramAppIds: env('ALIPAY_MINI_PROGRAM_APP_IDS').split(',').filter(Boolean),
    };
    this.identity = {
      wechatAppSecret: env('WECHAT_APP_SECRET'),
      wechatAuthorizeUrl: env('WECHAT_OAUTH_AUTHORIZE_URL'),
      wechatApiUrl: env('WECHAT_OAUTH_API_URL'),
      alipayAuthorizeUrl: env('ALIPAY_OAUTH_AUTHORIZE_URL'),
      ttlMs: parseDurationList(env('BUYER_IDENTITY_TTL'))[0] ?? 600_000,
    };
    this.wechatLive = {
      baseUrl: env('WECHAT_API_BASE_URL'),
      mchid: env('WECHAT_MCHID'),
      appid: env('WECHAT_APPID'),
      miniProgramAppIds: env('WECHAT_MINI_PROGRAM_APP_IDS').split(',').filter(Boolean),
      mobileAppIds: env('WECHAT_MOBILE_APP_IDS').split(',').filter(Boolean),
      merchantSerialNo: env('WECHAT_MERCHANT_SERIAL_NO'),
      merchantPrivateKeyFile: env('WECHAT_MERCHANT_PRIVATE_KEY_FILE'),
      platformKeys: env('WECHAT_PLATFORM_KEYS'),
      apiV3Key: env('WECHAT_APIV3_KEY'),
    };
    this.partners = parsePartners(env('PARTNERS'));
    this.adminTokens = parseAdminTokens(env('ADMIN_TOKENS'));
    this.metrics = { token: env('METRICS_TOKEN'), dbCacheMs: env('METRICS_DB_CACHE_MS') };
    this.relay = {
      enabled: env('RELAY_ENABLED'),
      pollIntervalMs: env('RELAY_POLL_INTERVAL_MS'),
      publishTimeoutMs: env('RELAY_PUBLISH_TIMEOUT_MS'),
      batchSize: env('RELAY_BATCH_SIZE'),
      claimLeaseMs: env('RELAY_CLAIM_LEASE_MS'),
    };
    this.webhooks = {
      timeoutMs: env('WEBHOOK_TIMEOUT_MS'),
      retryScheduleMs: parseDurationList(env('WEBHOOK_RETRY_SCHEDULE')),
      concurrency: env('WEBHOOK_CONCURRENCY'),
      circuitFailures: env('WEBHOOK_CIRCUIT_FAILURES'),
      circuitCooldownMs: parseDurationList(env('WEBHOOK_CIRCUIT_COOLDOWN'))[0] ?? 30_000,
      addresses: {
        allowed: parseAllowedNetworks(env('WEBHOOK_ALLOWED_NETWORKS')),
        allowLoopback: env('NODE_ENV') !== 'production' && env('WEBHOOK_ALLOW_LOOPBACK'),
      },
    };
    this.events = {
      retentionMs: parseDurationList(env('EVENTS_RETENTION'))[0] ?? 30 * 86_400_000,
      feedDelayMs: env('EVENTS_FEED_DELAY_MS'),
    };
    this.consumersEnabled = env('CONSUMERS_ENABLED');
    this.ordersPartner = env('ORDERS_PARTNER');
    this.partnerDeliveryLimit = env('PARTNER_DELIVERY_LIMIT');
    this.consumerRetryDelayMs = env('CONSUMER_RETRY_DELAY_MS');
    this.production = env('NODE_ENV') === 'production';
    this.trustProxy = parseTrustProxy(env('TRUST_PROXY'));
  }
}
