// Settings every test process starts with; a test that needs another value sets it before starting an app.
const defaults: Record<string, string> = {
  DB_NAME: 'payment_center_test',
  DB_MIGRATE_ON_START: 'false',
  LOG_LEVEL: 'fatal',
  GATEWAY_TIMEOUT_MS: '1500',
  IDEMPOTENCY_DERIVED_TTL_SECONDS: '2',
  DB_POOL_SIZE: '30',
  // Tests that need partners or consumers configure them per app; by default nothing is published or consumed.
  PARTNERS: '[]',
  CONSUMERS_ENABLED: 'false',
  RELAY_POLL_INTERVAL_MS: '200',
  CONSUMER_RETRY_DELAY_MS: '50',
  // Recovery asks gateways on its own; the suites that test it turn it on with their own queue prefix.
  RECOVERY_JOBS_ENABLED: 'false',
  RECONCILER_ENABLED: 'false',
  ORDERS_CHECK_ENABLED: 'false',
  RECONCILIATION_ENABLED: 'false',
};
for (const [key, value] of Object.entries(defaults)) process.env[key] ??= value;
