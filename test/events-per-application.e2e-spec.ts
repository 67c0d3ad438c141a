import type { GetMessage } from 'amqplib';
import type { Pool } from 'mysql2/promise';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { InvalidEnvironment, parsePartners, validateEnvironment } from '../src/config/environment';
import type { PartnerConfig } from '../src/config/environment';
import { inTransaction } from '../src/database/transaction';
import { AmqpConnection, partnerQueueArguments } from '../src/notifications/amqp.connection';
import { DeliveriesService } from '../src/notifications/deliveries.service';
import { OutboxRelay } from '../src/notifications/outbox.relay';
import { OutboxWriter } from '../src/notifications/outbox.writer';
import {
  PAYMENT_EVENTS_EXCHANGE,
  partnerExchange,
  partnerQueue,
  type PaymentEventBody,
} from '../src/notifications/payment-event';
import { newTestApplication, type TestApplication } from './support/api-keys';
import { AmqpProbe, waitFor } from './support/amqp';
import { documentedPaymentFields } from './support/asyncapi';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { http, orderBody, paymentState, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

// The example partner consumer's verifier, exactly the file partners copy.
const { verifyPaymentEvent } = createRequire(join(process.cwd(), 'package.json'))(
  './examples/partner-consumer/verify.js',
) as {
  verifyPaymentEvent: (header: unknown, body: Buffer, keys: { keyId: string; secret: string }[]) => boolean;
};

const DELIVERY_LIMIT = 3;

/**
 * Two applications' payments, partners restricted to application A and one that takes every application,
 * over the real RabbitMQ and MariaDB: a restricted partner's queue holds its applications' events and nothing
 * else, whatever the other partners get.
 */
describe('partner events per application (e2e)', () => {
  const partner = testPartners('ap');
  let A: TestApplication;
  let B: TestApplication;
  /** An application with no payments, on SHOP's list beside A. */
  const OTHER_APPLICATION = `app_${randomBytes(8).toString('hex')}`;
  let SHOP: PartnerConfig;
  /** Restricted to A and bound to payment.succeeded only; its queue was bound to payment.events before. */
  let SHOP_WAS_OPEN: PartnerConfig;
  /** Restricted to A; the last test takes its queue away for a while. */
  let SHOP_GONE: PartnerConfig;
  let EVERYONE: PartnerConfig;
  let instance: RunningApp;
  let db: Pool;
  let probe: AmqpProbe;

  beforeAll(async () => {
    A = await newTestApplication();
    B = await newTestApplication();
    SHOP = partner('shop', ['payment.#'], [A.applicationId, OTHER_APPLICATION]);
    SHOP_WAS_OPEN = partner('shop-was-open', ['payment.succeeded'], [A.applicationId]);
    SHOP_GONE = partner('shop-gone', ['payment.#'], [A.applicationId]);
    EVERYONE = partner('everyone', ['payment.#']);
    probe = await AmqpProbe.open();
    // SHOP_WAS_OPEN's queue as the partner left it while it took every application's events.
    await probe.channel.assertExchange(PAYMENT_EVENTS_EXCHANGE, 'topic', { durable: true });
    await probe.channel.assertQueue(partnerQueue(SHOP_WAS_OPEN.name), {
      durable: true,
      arguments: partnerQueueArguments(DELIVERY_LIMIT),
    });
    await probe.channel.bindQueue(partnerQueue(SHOP_WAS_OPEN.name), PAYMENT_EVENTS_EXCHANGE, 'payment.succeeded');
    instance = await startApp(Object.values(fakeGateways()), new TestClock(), {
      partners: [SHOP, SHOP_WAS_OPEN, SHOP_GONE, EVERYONE],
      ordersPartner: EVERYONE.name,
      consumersEnabled: false,
      relay: { enabled: true, pollIntervalMs: 200, publishTimeoutMs: 1000, batchSize: 50, claimLeaseMs: 30_000 },
      partnerDeliveryLimit: DELIVERY_LIMIT,
    });
    await instance.app.get(AmqpConnection).ready(); // partner queues and exchanges declared
    db = sqlPool();
  });

  afterAll(async () => {
    await instance.close();
    const all = [SHOP, SHOP_WAS_OPEN, SHOP_GONE, EVERYONE];
    await probe.deleteQueues(all.map((p) => partnerQueue(p.name)));
    for (const p of all) await probe.channel.deleteExchange(partnerExchange(p.name)).catch(() => undefined);
    await probe.close();
    await db.end();
  });

  const rows = async <T>(sql: string, params: unknown[]) => (await db.query(sql, params))[0] as T[];

  async function payingOrder(app: TestApplication) {
    const created = await http('POST', `${instance.url}/api/orders`, orderBody(uniqueId('apps')), app.headers);
    expect(created.status).toBe(201);
    const orderNo = created.body.orderNo as string;
    const started = await http('POST', `${instance.url}/api/orders/${orderNo}/pay`, { channel: 'wechat' }, app.headers);
    expect(started.status).toBe(200);
    return { paymentNo: started.body.paymentNo as string, amountFen: started.body.amountFen as number };
  }

  /** A payment of `app` that succeeds: one payment.succeeded. */
  async function paid(app: TestApplication): Promise<string> {
    const { paymentNo, amountFen } = await payingOrder(app);
    await paymentState(instance.app).apply(paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('4200'),
      paidAmountFen: amountFen,
      paidAt: new Date(),
    });
    return paymentNo;
  }

  /** A payment of `app` that fails: one payment.failed. */
  async function failed(app: TestApplication): Promise<string> {
    const { paymentNo } = await payingOrder(app);
    await paymentState(instance.app).apply(paymentNo, { type: 'FAILED_CONFIRMED', reason: 'PAYERROR' });
    return paymentNo;
  }

  /** A payment.succeeded of a payment that belongs to no application (its order has no intent), as the writer makes it. */
  async function paidOfNoApplication(): Promise<string> {
    const paymentNo = `N${randomBytes(12).toString('hex')}`;
    const now = new Date();
    await inTransaction(instance.app.get(DataSource), (manager) =>
      instance.app.get(OutboxWriter).append(
        manager,
        'payment.succeeded',
        {
          paymentNo,
          orderNo: `ord_none_${randomBytes(6).toString('hex')}`,
          channel: 'wechat',
          amountFen: 100,
          currency: 'CNY',
          status: 'PAID',
          gatewayTradeNo: uniqueId('4200'),
          paidAmountFen: 100,
          paidAt: now,
          applicationId: null,
          closedAt: null,
          version: 2,
        },
        now,
      ),
    );
    return paymentNo;
  }

  /** Waits until the `count` events of these payments are published (every send confirmed); returns them. */
  function publishedEvents(paymentNos: string[], count: number) {
    return waitFor(`${count} events published`, async () => {
      const events = await rows<{ event_id: string; payment_no: string; type: string; published: number }>(
        'SELECT event_id, payment_no, type, published_at IS NOT NULL AS published FROM outbox_events WHERE payment_no IN (?)',
        [paymentNos],
      );
      return events.length === count && events.every((e) => e.published) && events;
    });
  }

  /** Everything in a queue now (the events waited for are confirmed, so already in it). */
  const drain = (queue: string) => probe.take(queue, 1000, 1500);
  const bodyOf = (message: GetMessage) => JSON.parse(message.content.toString()) as PaymentEventBody;
  const idsOf = (messages: GetMessage[]) => messages.map((m) => m.properties.messageId as string).sort();
  const eventIds = (events: { event_id: string }[]) => events.map((e) => e.event_id).sort();
  const signerIds = (message: GetMessage) =>
    String(message.properties.headers?.['x-pc-signature'])
      .split(',')
      .map((part) => part.split('=')[0])
      .filter((id) => id !== 't');

  it("a restricted partner's queue holds its applications' events and nothing else; the others get every application's", async () => {
    const ofA = [await paid(A), await failed(A)];
    const ofB = [await paid(B), await failed(B)];
    const ofNone = await paidOfNoApplication();
    const events = await publishedEvents([...ofA, ...ofB, ofNone], 5);
    const owner = new Map<string, string | null>(
      events.map((e) => [
        e.event_id,
        ofA.includes(e.payment_no) ? A.applicationId : ofB.includes(e.payment_no) ? B.applicationId : null,
      ]),
    );
    const eventsOf = (applicationId: string | null) => events.filter((e) => owner.get(e.event_id) === applicationId);

    // SHOP: A's two events, from its own exchange, signed for it alone; nothing of B's or of no application.
    const toShop = await drain(partnerQueue(SHOP.name));
    expect(idsOf(toShop)).toEqual(eventIds(eventsOf(A.applicationId)));
    for (const message of toShop) {
      const body = bodyOf(message);
      expect(body.payment.applicationId).toBe(A.applicationId);
      expect(message.fields).toMatchObject({ exchange: partnerExchange(SHOP.name), routingKey: body.type });
      expect(verifyPaymentEvent(message.properties.headers?.['x-pc-signature'], message.content, [SHOP])).toBe(true);
      expect(signerIds(message)).toEqual([SHOP.keyId]);
    }
    // Bound to payment.succeeded only, and unbound from payment.events although it was bound there before.
    const toShopWasOpen = await drain(partnerQueue(SHOP_WAS_OPEN.name));
    const paidOfA = eventsOf(A.applicationId).filter((e) => e.type === 'payment.succeeded');
    expect(idsOf(toShopWasOpen)).toEqual(eventIds(paidOfA));
    expect(
      verifyPaymentEvent(toShopWasOpen[0].properties.headers?.['x-pc-signature'], toShopWasOpen[0].content, [
        SHOP_WAS_OPEN,
      ]),
    ).toBe(true);

    // EVERYONE: all five, from payment.events, each naming its application, signed for it (and not for the shops).
    const mine = new Set(events.map((e) => e.event_id));
    const toEveryone = (await drain(partnerQueue(EVERYONE.name))).filter((m) => mine.has(m.properties.messageId));
    expect(idsOf(toEveryone)).toEqual([...mine].sort());
    for (const message of toEveryone) {
      const body = bodyOf(message);
      expect(body.payment.applicationId).toBe(owner.get(body.id));
      expect(Object.keys(body.payment)).toEqual(documentedPaymentFields()); // the documented order
      expect(message.fields).toMatchObject({ exchange: PAYMENT_EVENTS_EXCHANGE, routingKey: body.type });
      expect(verifyPaymentEvent(message.properties.headers?.['x-pc-signature'], message.content, [EVERYONE])).toBe(
        true,
      );
      expect(signerIds(message)).toEqual([EVERYONE.keyId]);
    }

    // One delivery record per partner that takes the event, each published; none for a partner that does not.
    const deliveries = await rows<{ event_id: string; partner: string; status: string }>(
      'SELECT event_id, partner, status FROM event_deliveries WHERE event_id IN (?)',
      [[...mine]],
    );
    expect(deliveries.every((d) => d.status === 'PUBLISHED')).toBe(true);
    const recipients = (event: { event_id: string }) =>
      deliveries
        .filter((d) => d.event_id === event.event_id)
        .map((d) => d.partner)
        .sort();
    const shops = (type: string) =>
      [SHOP, SHOP_GONE, ...(type === 'payment.succeeded' ? [SHOP_WAS_OPEN] : [])].map((p) => p.name);
    for (const event of eventsOf(A.applicationId)) {
      expect(recipients(event)).toEqual([EVERYONE.name, ...shops(event.type)].sort());
    }
    for (const event of [...eventsOf(B.applicationId), ...eventsOf(null)]) {
      expect(recipients(event)).toEqual([EVERYONE.name]);
    }
  });

  it('a delivery recorded for a partner since restricted to other applications is not sent, and a retry refuses it too', async () => {
    // As the writer left it while SHOP still took every application's events: a delivery for SHOP of B's event.
    const eventId = randomUUID();
    const paymentNo = `B${randomBytes(12).toString('hex')}`;
    const body: PaymentEventBody = {
      id: eventId,
      type: 'payment.succeeded',
      occurredAt: new Date().toISOString(),
      version: 2,
      orderSequence: 1,
      payment: {
        paymentNo,
        orderNo: `ord_${randomBytes(8).toString('hex')}`,
        channel: 'wechat',
        amountFen: 100,
        currency: 'CNY',
        status: 'PAID',
        gatewayTradeNo: uniqueId('4200'),
        paidAmountFen: 100,
        paidAt: new Date().toISOString(),
        closedAt: null,
        applicationId: B.applicationId,
      },
    };
    const now = new Date();
    await db.query(
      `INSERT INTO outbox_events (event_id, type, payment_no, version, body, occurred_at, next_attempt_at, attempts,
         created_at) VALUES (?, 'payment.succeeded', ?, 2, ?, ?, ?, 0, ?)`,
      [eventId, paymentNo, JSON.stringify(body), now, now, now],
    );
    await db.query(
      `INSERT INTO event_deliveries (event_id, partner, event_type, status, attempts, created_at, updated_at)
       VALUES ?`,
      [[SHOP, EVERYONE].map((p) => [eventId, p.name, 'payment.succeeded', 'PENDING', 0, now, now])],
    );
    instance.app.get(OutboxRelay).kick();
    await publishedEvents([paymentNo], 1);

    const deliveries = await rows<{ id: string; partner: string; status: string; last_error: string | null }>(
      'SELECT id, partner, status, last_error FROM event_deliveries WHERE event_id = ? ORDER BY partner',
      [eventId],
    );
    const refused = `partner ${SHOP.name} receives only the events of ${A.applicationId}, ${OTHER_APPLICATION}, not of application ${B.applicationId}`;
    expect(deliveries.map(({ partner, status, last_error }) => ({ partner, status, last_error }))).toEqual([
      { partner: EVERYONE.name, status: 'PUBLISHED', last_error: null },
      { partner: SHOP.name, status: 'FAILED', last_error: `not sent: ${refused}` },
    ]);
    const toEveryone = (await drain(partnerQueue(EVERYONE.name))).filter((m) => m.properties.messageId === eventId);
    expect(toEveryone).toHaveLength(1);

    // An operator's retry asks the filter too: still FAILED, and the queue still holds nothing of B's.
    const shopDelivery = deliveries.find((d) => d.partner === SHOP.name);
    const retried = await instance.app
      .get(DeliveriesService)
      .retryOne(String(shopDelivery?.id), () => Promise.resolve());
    expect(retried).toMatchObject({ status: 'FAILED', lastError: `retry failed: ${refused}` });
    expect(await drain(partnerQueue(SHOP.name))).toEqual([]);
  });

  it('when one send of an event fails, the confirmed sends are marked at once and only the failed one goes out again', async () => {
    // SHOP_GONE's queue disappears: a send to its exchange is unroutable, the others are not.
    await probe.channel.deleteQueue(partnerQueue(SHOP_GONE.name));
    const paymentNo = await paid(A);
    const [event] = await waitFor('a failed attempt', async () => {
      const found = await rows<{ event_id: string; attempts: number; last_error: string | null; published: number }>(
        `SELECT event_id, attempts, last_error, published_at IS NOT NULL AS published FROM outbox_events
          WHERE payment_no = ?`,
        [paymentNo],
      );
      return (found[0]?.attempts ?? 0) > 0 && found;
    });
    expect(event).toMatchObject({ published: 0 });
    expect(event.last_error).toBe(
      `unroutable: no queue bound for payment.succeeded on ${partnerExchange(SHOP_GONE.name)}`,
    );
    const states = async () =>
      Object.fromEntries(
        (
          await rows<{ partner: string; status: string; attempts: number }>(
            'SELECT partner, status, attempts FROM event_deliveries WHERE event_id = ?',
            [event.event_id],
          )
        ).map((d) => [d.partner, `${d.status}/${d.attempts}`]),
      );
    expect(await states()).toEqual({
      [EVERYONE.name]: 'PUBLISHED/1',
      [SHOP.name]: 'PUBLISHED/1',
      [SHOP_WAS_OPEN.name]: 'PUBLISHED/1',
      [SHOP_GONE.name]: 'PENDING/0',
    });

    // The queue is back (as the PaymentCenter declares it): the next attempt sends to it alone.
    await probe.channel.assertQueue(partnerQueue(SHOP_GONE.name), {
      durable: true,
      arguments: partnerQueueArguments(DELIVERY_LIMIT),
    });
    await probe.channel.bindQueue(partnerQueue(SHOP_GONE.name), partnerExchange(SHOP_GONE.name), '');
    await publishedEvents([paymentNo], 1);
    expect(await states()).toEqual({
      [EVERYONE.name]: 'PUBLISHED/1',
      [SHOP.name]: 'PUBLISHED/1',
      [SHOP_WAS_OPEN.name]: 'PUBLISHED/1',
      [SHOP_GONE.name]: 'PUBLISHED/1',
    });
    const copies = async (p: PartnerConfig) =>
      (await drain(partnerQueue(p.name))).filter((m) => m.properties.messageId === event.event_id).length;
    expect({
      gone: await copies(SHOP_GONE),
      shop: await copies(SHOP),
      wasOpen: await copies(SHOP_WAS_OPEN),
      everyone: await copies(EVERYONE),
    }).toEqual({ gone: 1, shop: 1, wasOpen: 1, everyone: 1 });
  });
});

describe('PARTNERS applications, when the configuration is read', () => {
  const secret = () => randomBytes(32).toString('hex');
  const ORDERS = { name: 'orders', bindings: ['payment.#'], keyId: 'orders-1', secret: secret() };
  const shop = (applications: unknown) =>
    JSON.stringify([
      ORDERS,
      { name: 'shop-a', bindings: ['payment.#'], keyId: 'shop-a-1', secret: secret(), applications },
    ]);
  /** What the start refuses, as it says it. */
  const refusals = (raw: Record<string, string>): readonly string[] => {
    try {
      validateEnvironment(raw);
      return [];
    } catch (error) {
      if (error instanceof InvalidEnvironment) return error.problems;
      throw error;
    }
  };
  const LIST =
    'PARTNERS=(set, not shown): [1].applications (partner shop-a) must be a list of 1 to 100 application ids ' +
    "(app_…: up to 32 letters, digits, _ or -); leave it out to receive every application's events";

  it.each([
    ['an empty list', []],
    ['a string', 'app_3f9a0c1d2e4b5a6c'],
    ['null', null],
    ['numbers', [42]],
    ['more than 100', Array.from({ length: 101 }, (_, i) => `app_${String(i).padStart(16, '0')}`)],
  ])('refuses %s, naming the entry', (_, applications) => {
    expect(refusals({ PARTNERS: shop(applications) })).toEqual([LIST]);
  });

  it('refuses what cannot be an application id, and an id listed twice', () => {
    expect(refusals({ PARTNERS: shop(['app_3f9a0c1d2e4b5a6c', 'Shop A']) })).toEqual([`${LIST}: "Shop A" is not one`]);
    expect(refusals({ PARTNERS: shop(['']) })).toEqual([`${LIST}: "" is not one`]);
    expect(refusals({ PARTNERS: shop(['app_3f9a0c1d2e4b5a6c', 'app_3f9a0c1d2e4b5a6c']) })).toEqual([
      'PARTNERS=(set, not shown): [1].applications (partner shop-a) lists app_3f9a0c1d2e4b5a6c twice',
    ]);
  });

  it("refuses to restrict the Orders module's entry, which takes every application's orders", () => {
    const partners = JSON.stringify([{ ...ORDERS, applications: ['app_3f9a0c1d2e4b5a6c'] }]);
    expect(refusals({ PARTNERS: partners })).toEqual([
      "PARTNERS=(set, not shown): [0].applications (partner orders): the Orders module (ORDERS_PARTNER) takes every application's orders and must receive every application's events",
    ]);
    // The same entry is a shop like any other when ORDERS_PARTNER names another one.
    expect(refusals({ PARTNERS: partners, ORDERS_PARTNER: 'erp' })).toEqual([]);
  });

  it('reads a valid list, and an entry without one takes every application', () => {
    const raw = shop(['app_3f9a0c1d2e4b5a6c', 'app_0000000000000001']);
    expect(refusals({ PARTNERS: raw })).toEqual([]);
    const [orders, shopA] = parsePartners(raw);
    expect(shopA.applications).toEqual(['app_3f9a0c1d2e4b5a6c', 'app_0000000000000001']);
    expect('applications' in orders).toBe(false);
  });
});
