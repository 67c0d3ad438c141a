import type { Pool } from 'mysql2/promise';
import { newPaymentNo } from '../src/common/ids';
import type { Channel } from '../src/gateways/gateway.types';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import { OrderPaymentCheck } from '../src/orders/order-payment-check.job';
import { Reconciler } from '../src/payment-center/recovery/reconciler';
import { AmqpProbe, waitFor } from './support/amqp';
import { parkRecoveryWork, sqlPool } from './support/database';
import { FakeGateway } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { flushRedisDatabase, startRedis, stopRedis } from './support/services';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId, paymentState } from './support/test-app';

const partner = testPartners('r');
const WATCHER = partner('watcher');
const ORDERS = partner('orders');
const HALF_HOUR = 30 * 60 * 1000;

interface Attempt {
  action: string;
  attempt: number;
  outcome: string;
  detail: string;
  at: string;
}

/** Payments whose result does not arrive by notification, recovered by the recovery slots and the reconciler. */
describe('Lost-payment recovery through the sandbox (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let db: Pool;
  let probe: AmqpProbe;
  const clock = new TestClock();

  beforeAll(async () => {
    db = sqlPool();
    // Earlier suites' open payments are not this suite's to recover.
    await parkRecoveryWork(db);
    sandbox = await startSandbox();
    running = await startAppOnSandbox(
      sandbox,
      {
        partners: [WATCHER, ORDERS],
        ordersPartner: ORDERS.name,
        consumersEnabled: true,
        gateways: { timeoutMs: 1000 },
        recovery: {
          queryScheduleMs: [600, 300, 400],
          longTailMs: [300],
          closeAttempts: 2,
          reviewRequeryMs: 3_600_000,
          jobsEnabled: true,
          slotMs: 150,
          reconcilerEnabled: false, // swept by hand where a test needs it
          reconcilerGraceMs: 0,
        },
      },
      clock,
    );
    await running.app.get(AmqpConnection).ready();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await probe.deleteQueues([partnerQueue(WATCHER.name), partnerQueue(ORDERS.name)]);
    await probe.close();
    await db.end();
  });

  beforeEach(async () => {
    await faults({});
    await probe.channel.purgeQueue(partnerQueue(WATCHER.name));
  });

  const app = (path: string) => `${running.url}${path}`;
  const faults = (body: Record<string, unknown>) => http('POST', `${sandbox.url}/sandbox/faults`, body);
  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;
  const orderOf = async (orderNo: string) => (await http('GET', app(`/api/orders/${orderNo}`))).body;
  const buyerPays = (channel: Channel, paymentNo: string) =>
    http('POST', `${sandbox.url}/sandbox/${channel}/trades/${paymentNo}/pay`, {});

  /**
   * The watcher's next event about `paymentNo`. Events of other payments are passed over: a slot sweeps every row
   * due by the test clock, so advancing it may settle an earlier payment whose event then arrives first.
   */
  async function eventAbout(paymentNo: string): Promise<{ type: unknown }> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const [message] = await probe.take(partnerQueue(WATCHER.name), 1, deadline - Date.now());
      if (!message) break;
      const body = JSON.parse(message.content.toString()) as { payment?: { paymentNo?: string } };
      if (body.payment?.paymentNo === paymentNo) return { type: message.properties.type };
    }
    throw new Error(`no event about ${paymentNo} reached the watcher`);
  }

  async function startPayment(channel: Channel, options: { dropNotifications?: boolean } = {}) {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId(`rc-${channel}`)))).body;
    const payment = await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel });
    expect(payment.status).toBe(200);
    const paymentNo = payment.body.paymentNo as string;
    if (options.dropNotifications) await faults({ outTradeNo: paymentNo, dropNotifications: true });
    return { orderNo: order.orderNo as string, paymentNo };
  }

  it('a lost notification: queries on the configured schedule find the payment paid', async () => {
    const { orderNo, paymentNo } = await startPayment('wechat', { dropNotifications: true });
    await waitFor('two queries', async () => (await paymentOf(paymentNo)).attempts.length >= 2);
    await buyerPays('wechat', paymentNo); // every notification of it is lost: only the queries can find it
    const paid = await waitFor('payment PAID', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'PAID' && p;
    });
    const attempts = paid.attempts as Attempt[];
    expect(attempts.map((a) => `${a.action}:${a.outcome}`)).toEqual(['query:not_paid', 'query:not_paid', 'query:paid']);
    // Each query follows the previous one by the configured delay: 600 ms after PAYING, then 300, then 400.
    const entered = Date.parse((paid.history as { to: string; at: string }[])[0].at);
    const times = [entered, ...attempts.map((a) => Date.parse(a.at))];
    [600, 300, 400].forEach((delay, i) => {
      const gap = times[i + 1] - times[i];
      expect(gap).toBeGreaterThanOrEqual(delay - 20);
      expect(gap).toBeLessThan(delay + 400);
    });
    await waitFor('order PAID', async () => (await orderOf(orderNo)).status === 'PAID');
    expect((await eventAbout(paymentNo)).type).toBe('payment.succeeded');
  });

  it.each(['alipay', 'unionpay'] as const)('%s: a lost notification is recovered by query too', async (channel) => {
    const { paymentNo } = await startPayment(channel, { dropNotifications: true });
    if (channel === 'unionpay') {
      // The buyer's browser posts the consume form: only then does UnionPay know the order.
      const { payCredential } = await paymentOf(paymentNo);
      await fetch(payCredential.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(payCredential.fields).toString(),
      });
    }
    await buyerPays(channel, paymentNo);
    const paid = await waitFor('payment PAID', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'PAID' && p;
    });
    expect(paid.paidAmountFen).toBe(2500);
    expect((paid.attempts as Attempt[]).at(-1)).toMatchObject({ action: 'query', outcome: 'paid' });
  });

  it('a gateway that never answers: long tail, close attempts at expiry, then NEEDS_REVIEW with an alert — never FAILED', async () => {
    const { paymentNo } = await startPayment('wechat');
    await faults({ outTradeNo: paymentNo, apiDelayMs: 1500 }); // longer than the 1 s gateway timeout
    await waitFor('two timed-out queries', async () => (await paymentOf(paymentNo)).attempts.length >= 2, 15_000);
    clock.advance(HALF_HOUR + 60_000); // the order expires: the next run asks the gateway to close
    const reviewed = await waitFor(
      'NEEDS_REVIEW',
      async () => {
        const p = await paymentOf(paymentNo);
        return p.status === 'NEEDS_REVIEW' && p;
      },
      20_000,
    );
    const attempts = reviewed.attempts as Attempt[];
    expect(attempts.filter((a) => a.action === 'query').every((a) => a.outcome === 'unknown')).toBe(true);
    expect(attempts.filter((a) => a.action === 'close').map((a) => a.outcome)).toEqual(['unknown', 'unknown']);
    expect((reviewed.history as { to: string }[]).map((h) => h.to)).toEqual(['PAYING', 'CLOSING', 'NEEDS_REVIEW']);
    expect(reviewed.statusReason).toContain('2 close attempts');
    // Still asked now and then: a definite answer later resolves it.
    expect(Date.parse(reviewed.nextQueryAt) - clock.now().getTime()).toBeGreaterThan(3_500_000);
    expect((await eventAbout(paymentNo)).type).toBe('payment.needs_review');
  });

  it('expiry with nothing paid: closed at the gateway, then CLOSED here, and the order closes', async () => {
    const { orderNo, paymentNo } = await startPayment('wechat');
    clock.advance(HALF_HOUR + 60_000);
    const closed = await waitFor('payment CLOSED', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'CLOSED' && p;
    });
    expect((closed.history as { to: string }[]).map((h) => h.to)).toEqual(['PAYING', 'CLOSING', 'CLOSED']);
    const trade = (await http('GET', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}`)).body;
    expect(trade.state).toBe('CLOSED');
    expect((await buyerPays('wechat', paymentNo)).status).toBe(404); // the buyer can no longer pay it
    await waitFor('order CLOSED', async () => (await orderOf(orderNo)).status === 'CLOSED');
  });

  it('expiry while the buyer pays at the same moment: the close finds it paid — PAID, not CLOSED', async () => {
    const { orderNo, paymentNo } = await startPayment('wechat', { dropNotifications: true });
    await buyerPays('wechat', paymentNo);
    clock.advance(HALF_HOUR + 60_000); // expired before any query saw the payment
    const paid = await waitFor('payment PAID', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'PAID' && p;
    });
    expect((paid.history as { to: string }[]).map((h) => h.to)).toEqual(['PAYING', 'CLOSING', 'PAID']);
    expect((paid.attempts as Attempt[]).map((a) => `${a.action}:${a.outcome}`)).toEqual(['close:paid']);
    await waitFor('order PAID', async () => (await orderOf(orderNo)).status === 'PAID');
  });

  it('Redis down, so no slot runs: checkout still works and the reconciler recovers the payments', async () => {
    await stopRedis();
    try {
      const payments = [];
      for (let i = 0; i < 3; i++) payments.push(await startPayment('wechat', { dropNotifications: true }));
      for (const { paymentNo } of payments) await buyerPays('wechat', paymentNo);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // past the first query time
      await running.app.get(Reconciler).sweep();
      for (const { paymentNo } of payments) expect((await paymentOf(paymentNo)).status).toBe('PAID');
    } finally {
      await startRedis();
    }
  });

  it('Redis flushed with payments pending: the slot job comes back by itself and recovers every payment', async () => {
    const payments = await Promise.all(
      Array.from({ length: 8 }, () => startPayment('wechat', { dropNotifications: true })),
    );
    flushRedisDatabase(); // the slot job's repeat and its next slot are gone
    for (const { paymentNo } of payments) await buyerPays('wechat', paymentNo);
    // No reconciler here: only the slot job, put back by the app itself, can find them.
    for (const { paymentNo } of payments) {
      const p = await waitFor('payment PAID', async () => {
        const found = await paymentOf(paymentNo);
        return found.status === 'PAID' && found;
      });
      expect((p.attempts as Attempt[]).at(-1)).toMatchObject({ action: 'query', outcome: 'paid' });
    }
  });
});

/** Two instances, each with its reconciler, over the same due rows: every row is worked once per cycle. */
describe('Reconciler on several instances (e2e)', () => {
  let apps: RunningApp[];
  let gateways: FakeGateway[];
  let db: Pool;

  beforeAll(async () => {
    db = sqlPool();
    await parkRecoveryWork(db);
    gateways = [new FakeGateway('wechat'), new FakeGateway('wechat')];
    apps = await Promise.all(
      gateways.map((gateway) =>
        startApp([gateway], new TestClock(), {
          recovery: {
            queryScheduleMs: [60_000],
            longTailMs: [60_000],
            reconcilerEnabled: false,
            reconcilerGraceMs: 0,
            reconcilerBatchSize: 25,
          },
        }),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await db.end();
  });

  it('200 due payments, two apps sweeping at once: each queried exactly once', async () => {
    const now = Date.now();
    const numbers = Array.from({ length: 200 }, () => newPaymentNo(new Date(now)));
    await db.query(
      `INSERT INTO payments (payment_no, order_no, channel, amount_fen, currency, status, query_attempts, next_query_at,
         expires_at, version, created_at, updated_at) VALUES ?`,
      [
        numbers.map((no, i) => [
          no,
          `ord_rc${now.toString(36)}${i}`,
          'wechat',
          100,
          'CNY',
          'PAYING',
          0,
          new Date(now - 60_000 + i), // due, oldest first
          new Date(now + 3_600_000),
          1,
          new Date(now),
          new Date(now),
        ]),
      ],
    );
    const swept = await Promise.all(apps.map((a) => a.app.get(Reconciler).sweep()));
    const queried = [...gateways[0].queryCalls, ...gateways[1].queryCalls].filter((no) => numbers.includes(no));
    expect(queried).toHaveLength(200);
    expect(new Set(queried).size).toBe(200);
    expect(gateways[0].queryCalls.length).toBeGreaterThan(0); // both instances took a share
    expect(gateways[1].queryCalls.length).toBeGreaterThan(0);
    expect(swept.reduce((a, b) => a + b, 0)).toBe(200);
    const [rows] = await db.query(
      `SELECT COUNT(*) AS n FROM payment_attempts WHERE payment_no IN (?) AND action = 'query' AND attempt = 1`,
      [numbers],
    );
    expect((rows as { n: number }[])[0].n).toBe(200);
    const [open] = await db.query(
      'SELECT COUNT(*) AS n FROM payments WHERE payment_no IN (?) AND query_attempts = 1 AND next_query_at > ?',
      [numbers, new Date()],
    );
    expect((open as { n: number }[])[0].n).toBe(200);
  });
});

/**
 * Orders as a business application with its own timer: events lost (its queue purged, no consumer) and,
 * in one case, the notification lost with no query job or reconciler running either.
 */
describe("Orders' own payment check (e2e)", () => {
  const ORDERS_ONLY = testPartners('r')('check-orders');
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let probe: AmqpProbe;
  const clock = new TestClock();

  beforeAll(async () => {
    const db = sqlPool();
    // Earlier suites' open orders and payments are not this suite's to check.
    await db.query('UPDATE orders SET next_check_at = NULL WHERE next_check_at IS NOT NULL');
    await parkRecoveryWork(db);
    await db.end();
    sandbox = await startSandbox();
    running = await startAppOnSandbox(
      sandbox,
      {
        partners: [ORDERS_ONLY],
        ordersPartner: ORDERS_ONLY.name,
        consumersEnabled: false, // nobody consumes: every event Orders would get is lost
        gateways: { timeoutMs: 1000 },
        recovery: { jobsEnabled: false, reconcilerEnabled: false },
      },
      clock,
    );
    await running.app.get(AmqpConnection).ready();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await probe.deleteQueues([partnerQueue(ORDERS_ONLY.name)]);
    await probe.close();
  });

  const app = (path: string) => `${running.url}${path}`;
  const orderOf = async (orderNo: string) => (await http('GET', app(`/api/orders/${orderNo}`))).body;
  const check = () => running.app.get(OrderPaymentCheck).sweep();
  const purgeEvents = () => probe.channel.purgeQueue(partnerQueue(ORDERS_ONLY.name));

  async function payingOrder() {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('chk')))).body;
    const payment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' })).body;
    return { orderNo: order.orderNo as string, paymentNo: payment.paymentNo as string };
  }

  it('the payment succeeded but its event was lost: the check finds it and pays the order, once', async () => {
    const { orderNo, paymentNo } = await payingOrder();
    await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {});
    await waitFor('payment PAID', async () => (await orderOf(orderNo)).payments[0].status === 'PAID');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the event reached the queue...
    await purgeEvents(); // ...and is lost
    expect((await orderOf(orderNo)).status).toBe('PAYING');
    expect(await check()).toBe(0); // not silent for long enough yet
    clock.advance(61_000);
    expect(await check()).toBeGreaterThanOrEqual(1);
    const paid = await orderOf(orderNo);
    expect(paid).toMatchObject({ status: 'PAID', paymentNo });
    clock.advance(61_000);
    await check();
    expect((await orderOf(orderNo)).version).toBe(paid.version); // nothing more to do for a paid order
  });

  it('notification lost, no query job, no reconciler: the check asks the PaymentCenter, which asks the gateway', async () => {
    const { orderNo, paymentNo } = await payingOrder();
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: paymentNo, dropNotifications: true });
    await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {});
    clock.advance(61_000); // past the order's check time and the payment's first query time
    await check();
    const order = await orderOf(orderNo);
    expect(order.status).toBe('PAID');
    expect(order.payments[0]).toMatchObject({ status: 'PAID', paymentNo });
  });

  it('expired: an order never paid, and one whose payment closed (event lost), are closed by the check', async () => {
    const unpaid = (await http('POST', app('/api/orders'), orderBody(uniqueId('chk')))).body;
    const { orderNo, paymentNo } = await payingOrder();
    await paymentState(running.app).apply(paymentNo, { type: 'CLOSED_CONFIRMED' });
    await purgeEvents();
    clock.advance(HALF_HOUR + 60_000);
    await check();
    expect((await orderOf(unpaid.orderNo)).status).toBe('CLOSED');
    expect((await orderOf(orderNo)).status).toBe('CLOSED');
  });
});
