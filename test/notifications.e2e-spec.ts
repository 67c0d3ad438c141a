import type { Pool } from 'mysql2/promise';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { OutboxRelay } from '../src/notifications/outbox.relay';
import { partnerQueue } from '../src/notifications/payment-event';
import { TEST_APPLICATION_ID } from './support/api-keys';
import { testPartners } from './support/partners';
import { AmqpProbe, startBroker, stopBroker, waitFor } from './support/amqp';
import { documentedPaymentFields } from './support/asyncapi';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId, paymentState } from './support/test-app';

// The example partner consumer's verifier, exactly the file partners copy.
const { verifyPaymentEvent } = createRequire(join(process.cwd(), 'package.json'))(
  './examples/partner-consumer/verify.js',
) as {
  verifyPaymentEvent: (header: unknown, body: Buffer, keys: { keyId: string; secret: string }[]) => boolean;
};

const partner = testPartners('t');
const ALL = partner('all', ['payment.#']);
const PAID_ONLY = partner('paid', ['payment.succeeded']);
const REJECTER = partner('rejecter', ['payment.succeeded']);
const ORDERS = partner('orders', ['payment.#']);
const run = Date.now().toString(36);
const OPS_TOKEN = `ops-${run}-0123456789abcdefghijkl`;
const VIEWER_TOKEN = `viewer-${run}-0123456789abcdefghij`;

const settings = {
  partners: [ALL, PAID_ONLY, REJECTER, ORDERS],
  ordersPartner: ORDERS.name,
  consumersEnabled: true,
  adminTokens: [
    { name: 'ops', token: OPS_TOKEN, scopes: ['deliveries:read', 'deliveries:retry'] },
    { name: 'viewer', token: VIEWER_TOKEN, scopes: ['deliveries:read'] },
  ],
  relay: { enabled: true, pollIntervalMs: 200, publishTimeoutMs: 1000, batchSize: 50, claimLeaseMs: 30_000 },
  partnerDeliveryLimit: 3,
};

describe('Payment events to partners over RabbitMQ (e2e)', () => {
  const gateways = fakeGateways();
  let instances: RunningApp[];
  let db: Pool;
  let probe: AmqpProbe;

  beforeAll(async () => {
    instances = [await startApp(Object.values(gateways), new TestClock(), settings)];
    await instances[0].app.get(AmqpConnection).ready(); // partner queues declared
    db = sqlPool();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    startBroker();
    await Promise.all(instances.map((instance) => instance.close()));
    const cleanup = await AmqpProbe.open();
    await cleanup.deleteQueues([ALL, PAID_ONLY, REJECTER, ORDERS].map((p) => partnerQueue(p.name)));
    await cleanup.close();
    await probe.close().catch(() => undefined);
    await db.end();
  });

  beforeEach(async () => {
    // Each test reads partner queues from empty (the Orders queue is drained by its consumer).
    for (const p of [ALL, PAID_ONLY, REJECTER]) await probe.channel.purgeQueue(partnerQueue(p.name));
  });

  const app = () => instances[0];
  const rows = async <T>(sql: string, params: unknown[]) => (await db.query(sql, params))[0] as T[];

  async function payingOrder(instance = app()) {
    const order = (await http('POST', `${instance.url}/api/orders`, orderBody(uniqueId('evt')))).body;
    const payment = (await http('POST', `${instance.url}/api/orders/${order.orderNo}/pay`, { channel: 'wechat' })).body;
    return {
      orderNo: order.orderNo as string,
      paymentNo: payment.paymentNo as string,
      amountFen: payment.amountFen as number,
    };
  }

  function confirmPaid(paymentNo: string, amountFen: number, instance = app()) {
    return paymentState(instance.app).apply(paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('4200'),
      paidAmountFen: amountFen,
      paidAt: new Date('2026-11-25T10:00:00Z'),
    });
  }

  const orderStatus = async (orderNo: string) =>
    (await http('GET', `${app().url}/api/orders/${orderNo}`)).body.status as string;

  it('a payment that succeeds reaches each bound partner once, with the documented body, properties and signature', async () => {
    const { orderNo, paymentNo, amountFen } = await payingOrder();
    await confirmPaid(paymentNo, amountFen);

    const [toAll] = await probe.take(partnerQueue(ALL.name), 1);
    const [toPaid] = await probe.take(partnerQueue(PAID_ONLY.name), 1);
    for (const message of [toAll, toPaid]) {
      const body = JSON.parse(message.content.toString());
      expect(body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        type: 'payment.succeeded',
        occurredAt: expect.any(String),
        version: 2,
        orderSequence: 1,
        payment: {
          paymentNo,
          orderNo,
          channel: 'wechat',
          amountFen,
          currency: 'CNY',
          status: 'PAID',
          gatewayTradeNo: expect.any(String),
          paidAmountFen: amountFen,
          paidAt: '2026-11-25T10:00:00.000Z',
          closedAt: null,
          applicationId: TEST_APPLICATION_ID,
        },
      });
      expect(message.fields).toMatchObject({ exchange: 'payment.events', routingKey: 'payment.succeeded' });
      expect(message.properties).toMatchObject({
        messageId: body.id,
        type: 'payment.succeeded',
        contentType: 'application/json',
        deliveryMode: 2,
        appId: 'payment-center',
      });
      expect(Math.abs(message.properties.timestamp - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(toAll.properties.messageId).toBe(toPaid.properties.messageId);
    // The body has exactly the payment fields docs/asyncapi.yaml documents.
    expect(Object.keys(JSON.parse(toAll.content.toString()).payment).sort()).toEqual(documentedPaymentFields().sort());
    const header = toAll.properties.headers?.['x-pc-signature'];
    expect(verifyPaymentEvent(header, toAll.content, [ALL])).toBe(true);
    expect(verifyPaymentEvent(header, toPaid.content, [PAID_ONLY])).toBe(true);
    // A tampered body, or another partner's secret under this key id, does not verify.
    const tampered = Buffer.from(toAll.content.toString().replace(`"amountFen":${amountFen}`, '"amountFen":1'));
    expect(verifyPaymentEvent(header, tampered, [ALL])).toBe(false);
    expect(verifyPaymentEvent(header, toAll.content, [{ keyId: ALL.keyId, secret: PAID_ONLY.secret }])).toBe(false);
    // Exactly once per queue.
    expect(await probe.take(partnerQueue(ALL.name), 1, 500)).toHaveLength(0);
    expect(await probe.take(partnerQueue(PAID_ONLY.name), 1, 500)).toHaveLength(0);

    const deliveries = await rows<{ partner: string; status: string }>(
      'SELECT d.partner, d.status FROM event_deliveries d JOIN outbox_events e ON e.event_id = d.event_id WHERE e.payment_no = ? ORDER BY d.partner',
      [paymentNo],
    );
    expect(deliveries.map((d) => d.partner).sort()).toEqual(
      [ALL.name, ORDERS.name, PAID_ONLY.name, REJECTER.name].sort(),
    );
    // The Orders consumer applied it: the order is PAID, once.
    await waitFor('order PAID', async () => (await orderStatus(orderNo)) === 'PAID');
    expect(await rows('SELECT outcome FROM order_processed_events WHERE payment_no = ?', [paymentNo])).toEqual([
      { outcome: 'applied' },
    ]);
  });

  it('only partners bound to the routing key get an event: a failed payment goes to `payment.#` only', async () => {
    const { paymentNo } = await payingOrder();
    await paymentState(app().app).apply(paymentNo, { type: 'FAILED_CONFIRMED', reason: 'PAYERROR' });
    const [failed] = await probe.take(partnerQueue(ALL.name), 1);
    expect(failed.properties.type).toBe('payment.failed');
    expect(await probe.take(partnerQueue(PAID_ONLY.name), 1, 800)).toHaveLength(0);
  });

  it('the Orders consumer applies a redelivered event once and ignores a stale version', async () => {
    const { orderNo, paymentNo, amountFen } = await payingOrder();
    await confirmPaid(paymentNo, amountFen);
    await waitFor('order PAID', async () => (await orderStatus(orderNo)) === 'PAID');
    const versionAfterPaid = (await http('GET', `${app().url}/api/orders/${orderNo}`)).body.version;
    const [event] = await rows<{ id: string; event_id: string; type: string; body: string }>(
      'SELECT id, event_id, type, body FROM outbox_events WHERE payment_no = ? ORDER BY id DESC LIMIT 1',
      [paymentNo],
    );
    const relay = app().app.get(OutboxRelay);
    // The same event again (what a crash before the ack or a second publish looks like to the consumer).
    await relay.send('', partnerQueue(ORDERS.name), { eventId: event.event_id, type: event.type, body: event.body }, [
      ORDERS,
    ]);
    // An older change of the same payment arriving late.
    const stale = {
      ...JSON.parse(event.body),
      id: uniqueId('stale').padEnd(36, '0').slice(0, 36),
      type: 'payment.closed',
      version: 1,
    };
    stale.payment.status = 'CLOSED';
    await relay.send(
      '',
      partnerQueue(ORDERS.name),
      { eventId: stale.id, type: 'payment.closed', body: JSON.stringify(stale) },
      [ORDERS],
    );

    const outcomes = await waitFor('both processed', async () => {
      const found = await rows<{ event_id: string; outcome: string }>(
        'SELECT event_id, outcome FROM order_processed_events WHERE payment_no = ? ORDER BY processed_at',
        [paymentNo],
      );
      return found.length === 2 && found;
    });
    expect(outcomes).toEqual([
      { event_id: event.event_id, outcome: 'applied' },
      { event_id: stale.id, outcome: 'stale' },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the duplicate be consumed too
    const order = (await http('GET', `${app().url}/api/orders/${orderNo}`)).body;
    expect(order).toMatchObject({ status: 'PAID', version: versionAfterPaid });
  });

  it('an event the Orders consumer keeps failing on is retried a bounded number of times, then dead-lettered', async () => {
    const { orderNo, amountFen } = await payingOrder();
    const eventId = '00000000-0000-4000-8000-' + Date.now().toString().padStart(12, '0').slice(-12);
    // A payment number longer than the column: every attempt to record it fails inside the transaction.
    const poison = {
      id: eventId,
      type: 'payment.succeeded',
      occurredAt: new Date().toISOString(),
      version: 2,
      payment: { paymentNo: 'P'.repeat(40), orderNo, channel: 'wechat', amountFen, currency: 'CNY', status: 'PAID' },
    };
    const now = new Date();
    await db.query(
      `INSERT INTO event_deliveries (event_id, partner, event_type, status, attempts, created_at, updated_at)
       VALUES (?, ?, 'payment.succeeded', 'PUBLISHED', 1, ?, ?)`,
      [eventId, ORDERS.name, now, now],
    );
    await app()
      .app.get(OutboxRelay)
      .send('', partnerQueue(ORDERS.name), { eventId, type: poison.type, body: JSON.stringify(poison) }, [ORDERS]);
    const [delivery] = await waitFor('poison message dead-lettered', async () => {
      const found = await rows<{ status: string; last_error: string }>(
        'SELECT status, last_error FROM event_deliveries WHERE event_id = ?',
        [eventId],
      );
      return found[0]?.status === 'FAILED' && found;
    });
    expect(delivery.last_error).toMatch(/delivery_limit/);
    expect(await orderStatus(orderNo)).toBe('PAYING');
    expect(await rows('SELECT event_id FROM order_processed_events WHERE event_id = ?', [eventId])).toEqual([]);
  });

  it('a forged message is never applied: it is dead-lettered', async () => {
    const { orderNo, paymentNo, amountFen } = await payingOrder();
    const forged = {
      id: '00000000-0000-4000-8000-000000000001',
      type: 'payment.succeeded',
      occurredAt: new Date().toISOString(),
      version: 9,
      payment: { paymentNo, orderNo, channel: 'wechat', amountFen, currency: 'CNY', status: 'PAID' },
    };
    probe.channel.publish('payment.events', 'payment.succeeded', Buffer.from(JSON.stringify(forged)), {
      messageId: forged.id,
      type: forged.type,
      headers: { 'x-pc-signature': `t=${Math.floor(Date.now() / 1000)},${ORDERS.keyId}=${'0'.repeat(64)}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await orderStatus(orderNo)).toBe('PAYING');
    expect(await rows('SELECT event_id FROM order_processed_events WHERE event_id = ?', [forged.id])).toEqual([]);
  });

  it('a partner that rejects: delivery FAILED, listed for operators, retried once fixed, refused to wrong callers', async () => {
    const { paymentNo, amountFen } = await payingOrder();
    const rejecting = await probe.channel.consume(partnerQueue(REJECTER.name), (message) => {
      if (message) probe.channel.nack(message, false, false);
    });
    await confirmPaid(paymentNo, amountFen);
    const admin = (token: string) => ({ authorization: `Bearer ${token}` });
    const base = `${app().url}/api/admin/deliveries`;
    const [failed] = await waitFor('delivery failed', async () => {
      const list = await http('GET', `${base}?status=FAILED&partner=${REJECTER.name}`, undefined, admin(VIEWER_TOKEN));
      return list.body.length > 0 && (list.body as { id: string; lastError: string; eventId: string }[]);
    });
    await probe.channel.cancel(rejecting.consumerTag);
    expect(failed.lastError).toMatch(/dead-lettered from partner\..*: rejected/);

    expect((await http('GET', base)).status).toBe(401);
    expect((await http('GET', base, undefined, admin('not-a-token-at-all-0123456789'))).status).toBe(401);
    const forbidden = await http('POST', `${base}/${failed.id}/retry`, {}, admin(VIEWER_TOKEN));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('FORBIDDEN');

    const dryRun = await http('POST', `${base}/retry`, { partner: REJECTER.name, dryRun: true }, admin(OPS_TOKEN));
    expect(dryRun.body).toMatchObject({ matched: 1, retried: 0, dryRun: true });

    const retried = await http('POST', `${base}/${failed.id}/retry`, {}, admin(OPS_TOKEN));
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'PUBLISHED', lastError: null });
    const [redelivered] = await probe.take(partnerQueue(REJECTER.name), 1);
    expect(redelivered.properties.messageId).toBe(failed.eventId);
    expect(
      verifyPaymentEvent(redelivered.properties.headers?.['x-pc-signature'], redelivered.content, [REJECTER]),
    ).toBe(true);
    // Only that partner got it again.
    expect(await probe.take(partnerQueue(ALL.name), 2, 800)).toHaveLength(1);

    // A deliberate second retry (its own Idempotency-Key, so not a double click the guard would replay).
    const again = await http(
      'POST',
      `${base}/${failed.id}/retry`,
      {},
      { ...admin(OPS_TOKEN), 'Idempotency-Key': uniqueId('k') },
    );
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DELIVERY_NOT_RETRYABLE');
    const audit = await rows<{ actor: string; action: string; affected: number }>(
      // This delivery's own rows: a LIKE on its id also matched other suites' audit rows whose numbers contain it.
      "SELECT actor, action, affected FROM admin_audit WHERE action LIKE 'delivery.%' AND JSON_VALUE(target, '$.id') = ? ORDER BY id",
      [String(failed.id)],
    );
    expect(audit).toEqual(
      [
        { actor: 'ops', action: 'delivery.retry', affected: 1 },
        { actor: 'ops', action: 'delivery.retry', affected: 0 },
      ].slice(0, audit.length),
    );
    expect(audit.length).toBeGreaterThanOrEqual(1);
  });

  it('with the broker stopped, payments still complete; every event arrives once it is back', async () => {
    const payments = await Promise.all(Array.from({ length: 5 }, () => payingOrder()));
    stopBroker();
    try {
      for (const p of payments) await confirmPaid(p.paymentNo, p.amountFen);
      // The API keeps working while the broker is down.
      expect((await http('POST', `${app().url}/api/orders`, orderBody(uniqueId('during-outage')))).status).toBe(201);
      const waiting = await rows<{ n: number }>(
        `SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL AND payment_no IN (?)`,
        [payments.map((p) => p.paymentNo)],
      );
      expect(Number(waiting[0].n)).toBe(5);
    } finally {
      startBroker();
      await probe.close();
      probe = await AmqpProbe.open();
    }
    for (const p of payments)
      await waitFor(`order ${p.orderNo} PAID`, async () => (await orderStatus(p.orderNo)) === 'PAID', 60_000);
    const applied = await rows<{ payment_no: string }>(
      "SELECT payment_no FROM order_processed_events WHERE outcome = 'applied' AND payment_no IN (?)",
      [payments.map((p) => p.paymentNo)],
    );
    expect(applied).toHaveLength(5);
    const toAll = await probe.take(partnerQueue(ALL.name), 5, 20_000);
    expect(new Set(toAll.map((m) => m.properties.messageId)).size).toBe(5);
  });

  it('two app instances relaying at once: every event delivered, none twice, each applied once', async () => {
    instances.push(await startApp(Object.values(gateways), new TestClock(), settings));
    const payments = await Promise.all(Array.from({ length: 30 }, (_, i) => payingOrder(instances[i % 2])));
    await Promise.all(payments.map((p, i) => confirmPaid(p.paymentNo, p.amountFen, instances[i % 2])));
    const received = await probe.take(partnerQueue(ALL.name), 30, 15_000);
    received.push(...(await probe.take(partnerQueue(ALL.name), 1, 500)));
    const ids = received.map((m) => m.properties.messageId as string);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    for (const p of payments)
      await waitFor(`order ${p.orderNo} PAID`, async () => (await orderStatus(p.orderNo)) === 'PAID');
    const applied = await rows<{ n: number }>(
      "SELECT COUNT(*) AS n FROM order_processed_events WHERE outcome = 'applied' AND payment_no IN (?)",
      [payments.map((p) => p.paymentNo)],
    );
    expect(Number(applied[0].n)).toBe(30);
  });
});
