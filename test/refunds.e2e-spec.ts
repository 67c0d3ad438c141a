import { AmqpConnection } from '../src/notifications/amqp.connection';
import { PAYMENT_EVENT_TYPES, partnerQueue } from '../src/notifications/payment-event';
import type { Channel } from '../src/gateways/gateway.types';
import { AmqpProbe, waitFor } from './support/amqp';
import { documentedEventTypes, documentedRefundFields } from './support/asyncapi';
import { testPartners } from './support/partners';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId, paymentState } from './support/test-app';

const partner = testPartners('r');
const WATCHER = partner('refund-watcher');
const ORDERS = partner('refund-orders');

interface RefundBody {
  refundNo: string;
  kind: string;
  amountFen: number;
  status: string;
}

/** Refunds: the merchant's, and the automatic ones for money that arrived where it should not. */
describe('Refunds through the sandbox (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let probe: AmqpProbe;

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, {
      partners: [WATCHER, ORDERS],
      ordersPartner: ORDERS.name,
      consumersEnabled: true,
      gateways: { timeoutMs: 1000 },
      recovery: {
        queryScheduleMs: [600, 300, 400],
        longTailMs: [300],
        jobsEnabled: true,
        slotMs: 150,
        reconcilerEnabled: false,
      },
    });
    await running.app.get(AmqpConnection).ready();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await probe.deleteQueues([partnerQueue(WATCHER.name), partnerQueue(ORDERS.name)]);
    await probe.close();
  });

  beforeEach(async () => {
    await faults({});
    await probe.channel.purgeQueue(partnerQueue(WATCHER.name));
  });

  const app = (path: string) => `${running.url}${path}`;
  const faults = (body: Record<string, unknown>) => http('POST', `${sandbox.url}/sandbox/faults`, body);
  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;
  const tradeOf = async (paymentNo: string) =>
    (await http('GET', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}`)).body;
  const buyerPays = (channel: Channel, paymentNo: string) =>
    http('POST', `${sandbox.url}/sandbox/${channel}/trades/${paymentNo}/pay`, {});
  const refund = (paymentNo: string, amountFen: number, key = uniqueId('rf')) =>
    http(
      'POST',
      app(`/api/payments/${paymentNo}/refunds`),
      { amountFen, reason: 'returned goods' },
      {
        'Idempotency-Key': key,
      },
    );
  /** The next `count` events about this payment (events of earlier tests still arriving are skipped). */
  async function eventsOf(paymentNo: string, count: number, timeoutMs = 15_000) {
    const found: { type: string; version: number; refund: Record<string, number | string> }[] = [];
    const deadline = Date.now() + timeoutMs;
    while (found.length < count && Date.now() < deadline) {
      const [message] = await probe.take(partnerQueue(WATCHER.name), 1, deadline - Date.now());
      if (!message) break;
      const body = JSON.parse(message.content.toString());
      if (body.payment.paymentNo === paymentNo) found.push(body);
    }
    return found;
  }

  async function paidPayment(channel: Channel = 'wechat') {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('rf')))).body;
    const payment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel })).body;
    if (channel === 'unionpay') {
      await fetch(payment.payCredential.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(payment.payCredential.fields).toString(),
      });
    }
    await buyerPays(channel, payment.paymentNo);
    await waitFor('payment PAID', async () => (await paymentOf(payment.paymentNo)).status === 'PAID');
    expect((await eventsOf(payment.paymentNo, 1)).map((e) => e.type)).toEqual(['payment.succeeded']);
    return { orderNo: order.orderNo as string, paymentNo: payment.paymentNo as string };
  }

  it('full and partial refunds, never above the paid amount; the events carry the documented refund fields', async () => {
    expect(documentedEventTypes().sort()).toEqual([...PAYMENT_EVENT_TYPES].sort());
    const { paymentNo } = await paidPayment();
    const first = await refund(paymentNo, 1000);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ paymentNo, amountFen: 1000, kind: 'REQUESTED', status: 'REFUNDED' });
    const second = await refund(paymentNo, 1500);
    expect(second.body.status).toBe('REFUNDED');
    const more = await refund(paymentNo, 1);
    expect(more.status).toBe(422);
    expect(more.body).toMatchObject({ code: 'REFUND_EXCEEDS_PAID', details: { refundableFen: 0 } });
    // Same request again (same Idempotency-Key): the same refund, not a second one.
    const replay = await refund(paymentNo, 1000, 'rf-replay-' + paymentNo);
    const again = await refund(paymentNo, 1000, 'rf-replay-' + paymentNo);
    expect(replay.status).toBe(422); // nothing left
    expect(again.status).toBe(422);
    expect((await tradeOf(paymentNo)).refunds.map((r: { amountFen: number }) => r.amountFen)).toEqual([1000, 1500]);

    const events = await eventsOf(paymentNo, 4);
    expect(events.map((e) => `${e.type}:${e.refund.amountFen}:${e.refund.paymentRefundedFen}`)).toEqual([
      'payment.refund_started:1000:0',
      'payment.refunded:1000:1000',
      'payment.refund_started:1500:1000',
      'payment.refunded:1500:2500',
    ]);
    for (const event of events) expect(Object.keys(event.refund).sort()).toEqual(documentedRefundFields().sort());
    expect(events.map((e) => e.version)).toEqual([...events.map((e) => e.version)].sort((a, b) => a - b));
  });

  it('a repeated refund request (same key) is the same refund; a refund of an unpaid payment is refused', async () => {
    const { paymentNo } = await paidPayment();
    const key = uniqueId('rf-key');
    const [a, b] = [await refund(paymentNo, 700, key), await refund(paymentNo, 700, key)];
    expect(a.status).toBe(201);
    expect(b.body.refundNo).toBe(a.body.refundNo);
    expect((await paymentOf(paymentNo)).refunds).toHaveLength(1);

    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('rf')))).body;
    const paying = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' })).body;
    const refused = await refund(paying.paymentNo, 100);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('PAYMENT_NOT_REFUNDABLE');
    expect((await paymentOf(paying.paymentNo)).refunds).toEqual([]);
  });

  it('ten refunds at once on one payment: exactly what was paid goes back, never more', async () => {
    const { paymentNo } = await paidPayment();
    const results = await Promise.all(Array.from({ length: 10 }, () => refund(paymentNo, 500)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 422)).toHaveLength(5);
    const atVendor = (await tradeOf(paymentNo)).refunds.map((r: { amountFen: number }) => r.amountFen);
    expect(atVendor.reduce((a: number, b: number) => a + b, 0)).toBe(2500);
  });

  it('UnionPay: accepted, then its refund notification (sent five times) settles it once', async () => {
    const { paymentNo } = await paidPayment('unionpay');
    await faults({ outTradeNo: paymentNo, duplicateNotifications: 5 });
    const created = await refund(paymentNo, 2500);
    expect(created.status).toBe(201);
    const done = await waitFor('refund REFUNDED', async () => {
      const r = (await http('GET', app(`/api/refunds/${created.body.refundNo}`))).body;
      return r.status === 'REFUNDED' && r;
    });
    expect(done.gatewayRefundNo).toMatch(/^\d+$/);
    await new Promise((resolve) => setTimeout(resolve, 500)); // every copy of the notification has arrived
    const events = await eventsOf(paymentNo, 3, 2000);
    expect(events.map((e) => e.type)).toEqual(['payment.refund_started', 'payment.refunded']);
  });

  it('a refund whose answer is lost is asked about, and never sent as a second refund', async () => {
    const { paymentNo } = await paidPayment();
    // The refund is made at the vendor but its answer comes too late, and its notification is lost too.
    await faults({ outTradeNo: paymentNo, apiDelayMs: 1500, dropNotifications: true });
    const created = await refund(paymentNo, 900);
    expect(created.body.status).toBe('REFUNDING');
    await faults({ outTradeNo: paymentNo, dropNotifications: true });
    const done = await waitFor('refund REFUNDED', async () => {
      const r = (await http('GET', app(`/api/refunds/${created.body.refundNo}`))).body;
      return r.status === 'REFUNDED' && r;
    });
    expect(done.queryAttempts).toBeGreaterThanOrEqual(1);
    expect((await tradeOf(paymentNo)).refunds.map((r: { amountFen: number }) => r.amountFen)).toEqual([900]);
    // Asked about (or, if the vendor had not made it yet, sent again): always under the same refund number.
    const attempts = (await paymentOf(paymentNo)).attempts as { action: string; outcome: string; refundNo: string }[];
    expect(attempts[0]).toMatchObject({ action: 'refund', outcome: 'unknown' });
    expect(attempts.at(-1)?.outcome).toBe('succeeded');
    expect(new Set(attempts.map((a) => a.refundNo))).toEqual(new Set([created.body.refundNo]));
    expect((await paymentOf(paymentNo)).refunds).toHaveLength(1);
  });

  it('paid after the payment was closed: recorded, refunded automatically, and the order is not paid', async () => {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('rf-late')))).body;
    const { paymentNo } = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' })).body;
    await paymentState(running.app).apply(paymentNo, { type: 'CLOSED_CONFIRMED' });
    await buyerPays('wechat', paymentNo); // the buyer paid anyway (the vendor had not closed the trade)
    const settled = await waitFor('automatic refund REFUNDED', async () => {
      const p = await paymentOf(paymentNo);
      return p.refunds[0]?.status === 'REFUNDED' && p;
    });
    expect(settled.status).toBe('PAID');
    expect(settled.refunds).toEqual([expect.objectContaining({ kind: 'LATE_PAYMENT', amountFen: 2500 })]);
    const events = await eventsOf(paymentNo, 3);
    expect(events.map((e) => e.type)).toEqual(['payment.closed', 'payment.refund_started', 'payment.refunded']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await http('GET', app(`/api/orders/${order.orderNo}`))).body.status).not.toBe('PAID');
  });

  it('paid on two channels at once: one payment is kept, the other refunded; the order is paid once', async () => {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('rf-two')))).body;
    const wechat = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' })).body;
    // Starting Alipay closes the WeChat trade; WeChat answers that close slowly, and the buyer pays both codes
    // meanwhile: both trades are paid at the vendors.
    await faults({ outTradeNo: wechat.paymentNo, apiDelayMs: 700 });
    const alipay = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' })).body;
    await Promise.all([buyerPays('wechat', wechat.paymentNo), buyerPays('alipay', alipay.paymentNo)]);
    const [a, b] = await waitFor('both settled', async () => {
      const both = [await paymentOf(wechat.paymentNo), await paymentOf(alipay.paymentNo)];
      const done = both.every((p) => p.status === 'PAID') && both.some((p) => p.refunds[0]?.status === 'REFUNDED');
      return done && both;
    });
    const refunded = [a, b].filter((p) => (p.refunds as RefundBody[]).length > 0);
    const kept = [a, b].filter((p) => (p.refunds as RefundBody[]).length === 0);
    expect(refunded).toHaveLength(1);
    expect(kept).toHaveLength(1);
    expect(refunded[0].refunds).toEqual([
      expect.objectContaining({ kind: 'DUPLICATE_PAYMENT', amountFen: 2500, status: 'REFUNDED' }),
    ]);
    const paidOrder = await waitFor('order PAID', async () => {
      const o = (await http('GET', app(`/api/orders/${order.orderNo}`))).body;
      return o.status === 'PAID' && o;
    });
    expect(paidOrder.paymentNo).toBe(kept[0].paymentNo);
  });
});
