import { Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { randomUUID } from 'node:crypto';
import { sha256 } from '../src/idempotency/request-fingerprint';
import { RecoveryEngine } from '../src/payment-center/recovery/recovery-engine';
import { TEST_APPLICATION_ID } from './support/api-keys';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { parseScrape, type ScrapedSample, sampleValue } from './support/metrics';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId, paymentState } from './support/test-app';

const TOKEN = `metrics-${Date.now().toString(36)}-0123456789abcdef`;
const DAY_S = 24 * 3600;

/**
 * GET /metrics against the real app, MariaDB, Redis and the gateway sandbox: scrape, do something, scrape
 * again and read the difference. The database gauges are read afresh on every scrape here
 * (METRICS_DB_CACHE_MS=0); the cache itself has a unit test.
 */
describe('Prometheus metrics at GET /metrics (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let db: Pool;
  let redis: Redis;

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, {
      gateways: { timeoutMs: 1000 },
      metrics: { token: TOKEN, dbCacheMs: 0 },
    });
    db = sqlPool();
    redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  });

  afterAll(async () => {
    await running?.close();
    await sandbox?.app.close();
    await db?.end();
    redis?.disconnect();
  });

  beforeEach(async () => {
    await http('POST', `${sandbox.url}/sandbox/faults`, {});
  });

  const app = (path: string) => `${running.url}${path}`;

  async function scrape(url = running.url): Promise<ScrapedSample[]> {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    return parseScrape(await response.text());
  }

  /** A series' value in a scrape; 0 when it is not there. */
  const value = (samples: ScrapedSample[], name: string, labels: Record<string, string> = {}) =>
    sampleValue(samples, name, labels) ?? 0;

  /** `after − before` for every series named here. */
  function delta(before: ScrapedSample[], after: ScrapedSample[], name: string, labels: Record<string, string> = {}) {
    return value(after, name, labels) - value(before, name, labels);
  }

  async function payingWechat() {
    const order = await http('POST', app('/api/orders'), orderBody(uniqueId('metrics')));
    expect(order.status).toBe(201);
    const payment = await http('POST', app(`/api/orders/${order.body.orderNo}/pay`), { channel: 'wechat' });
    expect(payment.status).toBe(200);
    return { orderNo: order.body.orderNo as string, paymentNo: payment.body.paymentNo as string };
  }

  const statusOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body.status;

  it('serves the Prometheus text format with process metrics, behind METRICS_TOKEN when one is set', async () => {
    expect((await fetch(app('/metrics'))).status).toBe(401);
    const wrong = await fetch(app('/metrics'), { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);

    const response = await fetch(app('/metrics'), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8/);
    const text = await response.text();
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'payment_center_payments',
      'payment_center_payments_needs_review',
      'payment_center_payment_oldest_age_seconds',
      'payment_center_refund_oldest_age_seconds',
      'payment_center_gateway_attempts_total',
      'payment_center_notification_verification_failures_total',
      'payment_center_outbox_unpublished_events',
      'payment_center_outbox_oldest_unpublished_age_seconds',
      'payment_center_outbox_publish_lag_seconds',
      'payment_center_deliveries_failed',
      'payment_center_delivery_failures_total',
      'payment_center_duplicate_submissions_total',
      'payment_center_http_request_duration_seconds',
      'payment_center_metrics_collect_errors_total',
      'payment_center_log_lines_dropped_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    // Every status and channel has its series from the start, 0 or not.
    const samples = parseScrape(text);
    expect(sampleValue(samples, 'payment_center_payments', { status: 'CLOSING', channel: 'unionpay' })).toBeDefined();
    expect(sampleValue(samples, 'payment_center_duplicate_submissions_total', { caught_by: 'database' })).toBeDefined();
    // Refused scrapes reached the route: they count under its template, not as unmatched.
    const refused = { method: 'GET', route: '/metrics', status_code: '401' };
    expect(sampleValue(samples, 'payment_center_http_request_duration_seconds_count', refused)).toBeGreaterThanOrEqual(
      2,
    );
  });

  it('a paid order moves the payments gauge, the HTTP histogram (by route template) and the publish lag', async () => {
    const before = await scrape();
    const { orderNo, paymentNo } = await payingWechat();
    await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {});
    await waitFor('payment PAID', async () => (await statusOf(paymentNo)) === 'PAID');
    expect((await http('GET', app(`/api/orders/${orderNo}`))).status).toBe(200);
    // The relay marks the payment.succeeded event published right after the commit.
    const after = await waitFor('the event published', async () => {
      const samples = await scrape();
      return delta(before, samples, 'payment_center_outbox_publish_lag_seconds_count') >= 1 && samples;
    });

    const payments = 'payment_center_payments';
    expect(delta(before, after, payments, { status: 'PAID', channel: 'wechat' })).toBe(1);
    expect(delta(before, after, payments, { status: 'PAYING', channel: 'wechat' })).toBe(0); // in and out again
    const lagSeconds = 'payment_center_outbox_publish_lag_seconds_sum';
    expect(delta(before, after, lagSeconds)).toBeLessThan(30);

    const requests = 'payment_center_http_request_duration_seconds_count';
    const route = (method: string, template: string, status: string) => ({
      method,
      route: template,
      status_code: status,
    });
    expect(delta(before, after, requests, route('POST', '/api/orders', '201'))).toBe(1);
    expect(delta(before, after, requests, route('POST', '/api/orders/:orderNo/pay', '200'))).toBe(1);
    expect(delta(before, after, requests, route('GET', '/api/orders/:orderNo', '200'))).toBe(1);
    expect(delta(before, after, requests, route('POST', '/api/payments/notify/:channel', '204'))).toBe(1);
    // Routes, never raw paths: no order or payment number is a label value.
    const labelValues = after.flatMap((s) => Object.values(s.labels));
    expect(labelValues.filter((v) => v.includes(orderNo) || v.includes(paymentNo))).toEqual([]);

    const unmatched = await http('GET', app(`/api/nothing-here/${orderNo}`));
    expect(unmatched.status).toBe(404);
    const later = await scrape();
    expect(delta(after, later, requests, route('GET', 'unmatched', '404'))).toBe(1);

    // A body that is not JSON is refused by the body parser, before any route: still counted.
    const broken = await fetch(app('/api/payments/notify/wechat'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id": "EV-broken", ',
    });
    expect(broken.status).toBe(400);
    const last = await scrape();
    expect(delta(later, last, requests, route('POST', 'unmatched', '400'))).toBe(1);
  });

  it('a forged vendor notification counts as a verification failure, and pays nothing', async () => {
    const before = await scrape();
    const { paymentNo } = await payingWechat();
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: paymentNo, badSignature: true });
    await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {});
    await waitFor('a refused send', async () => {
      const trade = (await http('GET', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}`)).body;
      return trade.notifications.length >= 1;
    });
    const after = await scrape();
    const failures = 'payment_center_notification_verification_failures_total';
    expect(delta(before, after, failures, { channel: 'wechat', reason: 'signature' })).toBeGreaterThanOrEqual(1);
    expect(await statusOf(paymentNo)).toBe('PAYING');
  });

  it('duplicate submissions are counted by how they were caught: Redis replay, in flight, database', async () => {
    const duplicates = 'payment_center_duplicate_submissions_total';
    const key = uniqueId('metrics-key');
    const body = orderBody(uniqueId('metrics-dup'));
    const s0 = await scrape();

    const first = await http('POST', app('/api/orders'), body, { 'Idempotency-Key': key });
    expect(first.status).toBe(201);
    const replayed = await http('POST', app('/api/orders'), body, { 'Idempotency-Key': key });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    const s1 = await scrape();
    expect(delta(s0, s1, duplicates, { caught_by: 'redis_replay' })).toBe(1);

    // Redis forgot the key (flushed, failed over): the order's key column catches the duplicate.
    await redis.del(`idem:k:${sha256(`user:app:${TEST_APPLICATION_ID}`, key)}`);
    const backstop = await http('POST', app('/api/orders'), body, { 'Idempotency-Key': key });
    expect(backstop.status).toBe(201);
    expect(backstop.headers.get('idempotent-replayed')).toBe('true');
    expect(backstop.body.orderNo).toBe(first.body.orderNo);
    const s2 = await scrape();
    expect(delta(s1, s2, duplicates, { caught_by: 'database' })).toBe(1);
    expect(delta(s1, s2, duplicates, { caught_by: 'redis_replay' })).toBe(0);

    // A double click on pay while the vendor is slow: the second click gets 409 in flight.
    await http('POST', `${sandbox.url}/sandbox/faults`, { apiDelayMs: 700 });
    const order = await http('POST', app('/api/orders'), orderBody(uniqueId('metrics-click')));
    const firstClick = http('POST', app(`/api/orders/${order.body.orderNo}/pay`), { channel: 'wechat' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const secondClick = await http('POST', app(`/api/orders/${order.body.orderNo}/pay`), { channel: 'wechat' });
    expect(secondClick.status).toBe(409);
    expect(secondClick.body.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect((await firstClick).status).toBe(200);
    const s3 = await scrape();
    expect(delta(s2, s3, duplicates, { caught_by: 'in_flight' })).toBe(1);
  });

  it('an unpublished outbox row shows in the backlog, with its age', async () => {
    const eventId = randomUUID();
    const before = await scrape();
    // Due tomorrow, so the relay leaves it alone; written two minutes ago.
    await db.query(
      `INSERT INTO outbox_events (event_id, type, payment_no, version, body, occurred_at, next_attempt_at, attempts, created_at)
       VALUES (?, 'payment.succeeded', 'P-metrics', 1, '{}', NOW(3), NOW(3) + INTERVAL 1 DAY, 0, NOW(3) - INTERVAL 120 SECOND)`,
      [eventId],
    );
    try {
      const after = await scrape();
      expect(delta(before, after, 'payment_center_outbox_unpublished_events')).toBe(1);
      expect(value(after, 'payment_center_outbox_oldest_unpublished_age_seconds')).toBeGreaterThanOrEqual(119);
    } finally {
      await db.query('DELETE FROM outbox_events WHERE event_id = ?', [eventId]);
    }
    const cleared = await scrape();
    expect(delta(before, cleared, 'payment_center_outbox_unpublished_events')).toBe(0);
  });

  it('a PAYING payment made old shows in the oldest-age gauge, then as CLOSING, then in NEEDS_REVIEW', async () => {
    const age = 'payment_center_payment_oldest_age_seconds';
    const paying = { status: 'PAYING', channel: 'wechat' };
    const closing = { status: 'CLOSING', channel: 'wechat' };
    const { paymentNo } = await payingWechat();
    const before = await scrape();
    expect(value(before, age, paying)).toBeLessThan(30 * DAY_S); // nothing this old before
    expect(value(before, age, closing)).toBeLessThan(30 * DAY_S);
    await db.query(
      'UPDATE payments SET created_at = NOW(3) - INTERVAL 40 DAY, updated_at = NOW(3) - INTERVAL 40 DAY WHERE payment_no = ?',
      [paymentNo],
    );
    try {
      const old = await scrape();
      expect(value(old, age, paying)).toBeGreaterThanOrEqual(40 * DAY_S - 60);
      expect(value(old, age, { status: 'PAYING', channel: 'alipay' })).toBeLessThan(30 * DAY_S);

      const state = paymentState(running.app);
      const nextQueryAt = new Date(Date.now() + 3_600_000);
      await state.apply(paymentNo, { type: 'CLOSE_REQUESTED', reason: 'metrics test', nextQueryAt });
      const closed = await scrape();
      expect(value(closed, age, paying)).toBeLessThan(30 * DAY_S);
      expect(value(closed, age, closing)).toBeGreaterThanOrEqual(40 * DAY_S - 60);

      await state.apply(paymentNo, { type: 'REVIEW_REQUIRED', reason: 'metrics test', nextQueryAt });
      const reviewed = await scrape();
      expect(value(reviewed, age, closing)).toBeLessThan(30 * DAY_S);
      expect(delta(before, reviewed, 'payment_center_payments_needs_review')).toBe(1);
      const payments = 'payment_center_payments';
      expect(delta(before, reviewed, payments, { status: 'NEEDS_REVIEW', channel: 'wechat' })).toBe(1);
      expect(delta(before, reviewed, payments, paying)).toBe(-1);
    } finally {
      // Leave nothing 40 days old behind for the next run's "nothing this old before".
      await db.query('UPDATE payments SET created_at = NOW(3) WHERE payment_no = ?', [paymentNo]);
    }
  });

  it('a refund still REFUNDING long after it was made shows in the oldest-refund gauge; a settled one does not', async () => {
    const age = 'payment_center_refund_oldest_age_seconds';
    const refundNo = uniqueId('R').slice(0, 32);
    const before = await scrape();
    expect(value(before, age, { channel: 'unionpay' })).toBeLessThan(30 * DAY_S); // nothing this old before
    // Asked about on the long tail for 40 days without a definite answer; next asked tomorrow.
    await db.query(
      `INSERT INTO refunds (refund_no, payment_no, order_no, channel, amount_fen, reason, kind, status,
         query_attempts, next_query_at, status_reason, version, created_at, updated_at)
       VALUES (?, 'P-metrics', 'O-metrics', 'unionpay', 100, 'metrics test', 'REQUESTED', 'REFUNDING',
         40, NOW(3) + INTERVAL 1 DAY, 'attempt 40: no answer', 0, NOW(3) - INTERVAL 40 DAY, NOW(3))`,
      [refundNo],
    );
    try {
      const old = await scrape();
      expect(value(old, age, { channel: 'unionpay' })).toBeGreaterThanOrEqual(40 * DAY_S - 60);
      expect(value(old, age, { channel: 'alipay' })).toBeLessThan(30 * DAY_S);
      expect(sampleValue(old, age, { channel: 'wechat' })).toBeDefined(); // every channel, 0 included

      await db.query("UPDATE refunds SET status = 'REFUND_FAILED', next_query_at = NULL WHERE refund_no = ?", [
        refundNo,
      ]);
      const settled = await scrape();
      expect(value(settled, age, { channel: 'unionpay' })).toBeLessThan(30 * DAY_S);
    } finally {
      await db.query('DELETE FROM refunds WHERE refund_no = ?', [refundNo]);
    }
  });

  it("recovery's gateway queries are counted by channel, account, kind and outcome", async () => {
    const attempts = 'payment_center_gateway_attempts_total';
    const { paymentNo } = await payingWechat();
    const before = await scrape();
    await db.query('UPDATE payments SET next_query_at = NOW(3) WHERE payment_no = ?', [paymentNo]);
    expect(await running.app.get(RecoveryEngine).run('payment', paymentNo, 0)).toBe('worked');
    const after = await scrape();
    expect(
      delta(before, after, attempts, { channel: 'wechat', account: 'default', kind: 'query', outcome: 'not_paid' }),
    ).toBe(1);
    expect(delta(before, after, attempts)).toBe(1);
    const [rows] = await db.query('SELECT action, outcome FROM payment_attempts WHERE payment_no = ?', [paymentNo]);
    expect(rows).toEqual([{ action: 'query', outcome: 'not_paid' }]);
  });

  /** A delivery row as the dead-letter watcher leaves it; returns a function that deletes it. */
  async function failedDelivery(partner: string): Promise<() => Promise<void>> {
    const eventId = randomUUID();
    await db.query(
      `INSERT INTO event_deliveries (event_id, partner, event_type, status, attempts, created_at, updated_at)
       VALUES (?, ?, 'payment.succeeded', 'FAILED', 1, NOW(3), NOW(3))`,
      [eventId, partner],
    );
    return async () => {
      await db.query('DELETE FROM event_deliveries WHERE event_id = ?', [eventId]);
    };
  }

  it('failed deliveries show by partner', async () => {
    const partner = uniqueId('mp').slice(0, 40);
    const remove = await failedDelivery(partner);
    try {
      expect(value(await scrape(), 'payment_center_deliveries_failed', { partner })).toBe(1);
    } finally {
      await remove();
    }
    expect(value(await scrape(), 'payment_center_deliveries_failed', { partner })).toBe(0);
  });

  it('each app instance serves its own counters from its own registry', async () => {
    const other = await startApp(Object.values(fakeGateways()), new TestClock(), {
      metrics: { token: TOKEN, dbCacheMs: 0 },
    });
    try {
      const created = { method: 'POST', route: '/api/orders', status_code: '201' };
      const count = 'payment_center_http_request_duration_seconds_count';
      const [mineBefore, otherBefore] = [await scrape(), await scrape(other.url)];
      expect((await http('POST', `${other.url}/api/orders`, orderBody(uniqueId('metrics-other')))).status).toBe(201);
      const [mineAfter, otherAfter] = [await scrape(), await scrape(other.url)];
      expect(delta(otherBefore, otherAfter, count, created)).toBe(1);
      expect(delta(mineBefore, mineAfter, count, created)).toBe(0);
      // The database gauges are the same on both.
      const paid = { status: 'PAID', channel: 'wechat' };
      expect(value(otherAfter, 'payment_center_payments', paid)).toBe(
        value(mineAfter, 'payment_center_payments', paid),
      );
    } finally {
      await other.close();
    }
  });

  it('a database error during a scrape leaves those gauges out, counts the error and serves the rest', async () => {
    const errors = 'payment_center_metrics_collect_errors_total';
    const failed = 'payment_center_deliveries_failed';
    const partner = uniqueId('mp').slice(0, 40);
    const remove = await failedDelivery(partner);
    try {
      const before = await scrape();
      expect(value(before, failed, { partner })).toBe(1);
      // The deliveries table is gone for a moment: that read fails, the others do not.
      await db.query('RENAME TABLE event_deliveries TO event_deliveries_metrics_test');
      let during: ScrapedSample[];
      try {
        during = await scrape();
      } finally {
        await db.query('RENAME TABLE event_deliveries_metrics_test TO event_deliveries');
      }
      expect(delta(before, during, errors, { source: 'deliveries' })).toBe(1);
      expect(delta(before, during, errors, { source: 'payments' })).toBe(0);
      expect(during.some((s) => s.name === failed)).toBe(false); // left out, not a stale value
      expect(sampleValue(during, 'payment_center_payments', { status: 'PAID', channel: 'wechat' })).toBeDefined();
      expect(sampleValue(during, 'payment_center_outbox_unpublished_events')).toBeDefined();
      expect(sampleValue(during, 'process_cpu_user_seconds_total')).toBeDefined();

      const after = await scrape();
      expect(value(after, failed, { partner })).toBe(1);
      expect(delta(during, after, errors, { source: 'deliveries' })).toBe(0);
    } finally {
      await remove();
    }
  });
});
