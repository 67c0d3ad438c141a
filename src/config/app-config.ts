import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  type AdminTokenConfig,
  Environment,
  parseAdminTokens,
  parseDurationList,
  parsePartners,
  parseTrustProxy,
  type PartnerConfig,
} from './environment';

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
  readonly redisUrl: string;
  readonly rabbitmqUrl: string;
  readonly orders: {
    expiresInMs: number;
    maxAmountFen: number;
    /** Orders' own timer: how often it looks, and how long a payment may be silent before it asks. */
    check: { enabled: boolean; cron: string; afterMs: number };
  };
  readonly idempotency: { explicitKeyTtlMs: number; derivedKeyTtlMs: number; inFlightTtlMs: number };
  readonly gateways: { timeoutMs: number };
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
    jobsEnabled: boolean;
    queuePrefix: string;
    reconcilerEnabled: boolean;
    reconcilerCron: string;
    reconcilerBatchSize: number;
    /** The reconciler takes a row only this long after it was due, so that the on-time job goes first. */
    reconcilerGraceMs: number;
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
  };
  /** Live WeChat Pay settings, as given (checked when GATEWAY_MODE=live). */
  readonly wechatLive: {
    baseUrl: string;
    mchid: string;
    appid: string;
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
    const env = (key: keyof Environment) => config.get(key, { infer: true });
    this.port = env('PORT') as number;
    this.database = {
      host: env('DB_HOST') as string,
      port: env('DB_PORT') as number,
      user: env('DB_USER') as string,
      password: env('DB_PASSWORD') as string,
      name: env('DB_NAME') as string,
      poolSize: env('DB_POOL_SIZE') as number,
      migrateOnStart: env('DB_MIGRATE_ON_START') as boolean,
    };
    this.redisUrl = env('REDIS_URL') as string;
    this.rabbitmqUrl = env('RABBITMQ_URL') as string;
    this.orders = {
      expiresInMs: (env('ORDER_EXPIRES_IN_SECONDS') as number) * 1000,
      maxAmountFen: env('ORDER_MAX_AMOUNT_FEN') as number,
      check: {
        enabled: env('ORDERS_CHECK_ENABLED') as boolean,
        cron: env('ORDERS_CHECK_CRON') as string,
        afterMs: parseDurationList(env('ORDERS_PAYMENT_CHECK_AFTER') as string)[0] ?? 60_000,
      },
    };
    this.idempotency = {
      explicitKeyTtlMs: (env('IDEMPOTENCY_KEY_TTL_SECONDS') as number) * 1000,
      derivedKeyTtlMs: (env('IDEMPOTENCY_DERIVED_TTL_SECONDS') as number) * 1000,
      inFlightTtlMs: (env('IDEMPOTENCY_IN_FLIGHT_TTL_SECONDS') as number) * 1000,
    };
    this.gateways = { timeoutMs: env('GATEWAY_TIMEOUT_MS') as number };
    this.recovery = {
      queryScheduleMs: parseDurationList(env('PAYMENT_QUERY_SCHEDULE') as string),
      longTailMs: parseDurationList(env('PAYMENT_QUERY_LONG_TAIL') as string),
      closeAttempts: env('PAYMENT_CLOSE_ATTEMPTS') as number,
      reviewRequeryMs: parseDurationList(env('PAYMENT_REVIEW_REQUERY') as string)[0] ?? 3_600_000,
      jobsEnabled: env('RECOVERY_JOBS_ENABLED') as boolean,
      queuePrefix: env('RECOVERY_QUEUE_PREFIX') as string,
      reconcilerEnabled: env('RECONCILER_ENABLED') as boolean,
      reconcilerCron: env('RECONCILER_CRON') as string,
      reconcilerBatchSize: env('RECONCILER_BATCH_SIZE') as number,
      reconcilerGraceMs: env('RECONCILER_GRACE_MS') as number,
    };
    this.reconciliation = {
      enabled: env('RECONCILIATION_ENABLED') as boolean,
      cron: env('RECONCILIATION_CRON') as string,
    };
    this.logLevel = env('LOG_LEVEL') as Environment['LOG_LEVEL'];
    this.logBufferMaxBytes = env('LOG_BUFFER_MAX_BYTES') as number;
    this.gatewayMode = env('GATEWAY_MODE') as 'sandbox' | 'live';
    this.sandbox = { url: env('SANDBOX_URL') as string, keysDir: env('SANDBOX_KEYS_DIR') as string };
    this.publicBaseUrl = env('PUBLIC_BASE_URL') as string;
    this.unionpayLive = {
      baseUrl: env('UNIONPAY_GATEWAY_URL') as string,
      fileUrl: env('UNIONPAY_FILE_URL') as string,
      merId: env('UNIONPAY_MER_ID') as string,
      signKeyFile: env('UNIONPAY_SIGN_KEY_FILE') as string,
      signCertFile: env('UNIONPAY_SIGN_CERT_FILE') as string,
      rootCertFile: env('UNIONPAY_ROOT_CERT_FILE') as string,
      middleCertFile: env('UNIONPAY_MIDDLE_CERT_FILE') as string,
      requireUnionPayCn: env('UNIONPAY_REQUIRE_UNIONPAY_CN') as boolean,
    };
    this.alipayLive = {
      gatewayUrl: env('ALIPAY_GATEWAY_URL') as string,
      appId: env('ALIPAY_APP_ID') as string,
      appPrivateKeyFile: env('ALIPAY_APP_PRIVATE_KEY_FILE') as string,
      alipayPublicKeyFile: env('ALIPAY_PUBLIC_KEY_FILE') as string,
      sellerId: env('ALIPAY_SELLER_ID') as string,
    };
    this.wechatLive = {
      baseUrl: env('WECHAT_API_BASE_URL') as string,
      mchid: env('WECHAT_MCHID') as string,
      appid: env('WECHAT_APPID') as string,
      merchantSerialNo: env('WECHAT_MERCHANT_SERIAL_NO') as string,
      merchantPrivateKeyFile: env('WECHAT_MERCHANT_PRIVATE_KEY_FILE') as string,
      platformKeys: env('WECHAT_PLATFORM_KEYS') as string,
      apiV3Key: env('WECHAT_APIV3_KEY') as string,
    };
    this.partners = parsePartners(env('PARTNERS') as string);
    this.adminTokens = parseAdminTokens(env('ADMIN_TOKENS') as string);
    this.metrics = { token: env('METRICS_TOKEN') as string, dbCacheMs: env('METRICS_DB_CACHE_MS') as number };
    this.relay = {
      enabled: env('RELAY_ENABLED') as boolean,
      pollIntervalMs: env('RELAY_POLL_INTERVAL_MS') as number,
      publishTimeoutMs: env('RELAY_PUBLISH_TIMEOUT_MS') as number,
      batchSize: env('RELAY_BATCH_SIZE') as number,
      claimLeaseMs: env('RELAY_CLAIM_LEASE_MS') as number,
    };
    this.consumersEnabled = env('CONSUMERS_ENABLED') as boolean;
    this.ordersPartner = env('ORDERS_PARTNER') as string;
    this.partnerDeliveryLimit = env('PARTNER_DELIVERY_LIMIT') as number;
    this.consumerRetryDelayMs = env('CONSUMER_RETRY_DELAY_MS') as number;
    this.production = env('NODE_ENV') === 'production';
    this.trustProxy = parseTrustProxy(env('TRUST_PROXY') as string);
  }
}
