import { randomUUID } from 'node:crypto';
import type { PaymentEventBody } from '../src/notifications/payment-event';
import { OrderPaymentEvents } from '../src/orders/order-payment-events.service';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { http, orderBody, paymentState, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

/**
 * Events carry a per-order sequence: every event of an order's payments and refunds is numbered from 1, without
 * gaps or repeats, in the order the changes committed, even when two payments of the order change at the
 * same moment. The Orders consumer drops an older status event of another payment by it, never a
 * payment.succeeded.
 */
describe('Per-order event sequence (e2e)', () => {
  const gateways = fakeGateways();
  let running: RunningApp;
  const db = sqlPool();

  beforeAll(async () => {
    running = await startApp(Object.values(gateways), new TestClock());
  });

  afterAll(async () => {
    await running.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const bodiesOf = async (orderNo: string) => {
    const [rows] = await db.query(
      `SELECT e.body FROM outbox_events e JOIN payments p ON p.payment_no = e.payment_no
        WHERE p.order_no = ? ORDER BY e.id`,
      [orderNo],
    );
    return (rows as { body: string }[]).map((r) => JSON.parse(r.body) as PaymentEventBody);
  };

  it('numbers an order’s events 1, 2, 3… across its payments, also when two of them change at once', async () => {
    for (let round = 0; round < 5; round++) {
      const orderNo = (await http('POST', app('/api/orders'), orderBody(uniqueId('seq')))).body.orderNo as string;
      const first = (await http('POST', app(`/api/orders/${orderNo}/pay`), { channel: 'wechat' })).body;
      const second = (await http('POST', app(`/api/orders/${orderNo}/pay`), { channel: 'alipay' })).body;
      // Both payments change in the same instant, each writing an event (CLOSING → and PAYING → NEEDS_REVIEW).
      await Promise.all(
        [first.paymentNo, second.paymentNo].map((paymentNo: string) =>
          paymentState(running.app).apply(paymentNo, { type: 'REVIEW_REQUIRED', reason: 'operator test' }),
        ),
      );
      // (The superseded payment may also have been closed meanwhile: its event is numbered too.)
      const events = await bodiesOf(orderNo);
      expect(events.filter((e) => e.type === 'payment.needs_review')).toHaveLength(2);
      const numbers = events.map((e) => e.orderSequence).sort((a, b) => a - b);
      expect(numbers).toEqual(events.map((_, i) => i + 1));
    }
  });

  it('the Orders consumer drops an older status event of another payment, never a payment.succeeded', async () => {
    const orderNo = (await http('POST', app('/api/orders'), orderBody(uniqueId('seq-o')))).body.orderNo as string;
    const first = (await http('POST', app(`/api/orders/${orderNo}/pay`), { channel: 'wechat' })).body;
    const second = (await http('POST', app(`/api/orders/${orderNo}/pay`), { channel: 'alipay' })).body;
    const orders = running.app.get(OrderPaymentEvents);
    const event = (
      payment: { paymentNo: string; channel: string; amountFen: number },
      type: PaymentEventBody['type'],
      orderSequence: number,
    ): PaymentEventBody => ({
      id: randomUUID(),
      type,
      occurredAt: new Date().toISOString(),
      version: 3,
      orderSequence,
      payment: {
        paymentNo: payment.paymentNo,
        orderNo,
        channel: payment.channel as 'wechat',
        amountFen: payment.amountFen,
        currency: 'CNY',
        status: type === 'payment.succeeded' ? 'PAID' : 'NEEDS_REVIEW',
        gatewayTradeNo: null,
        paidAmountFen: null,
        paidAt: null,
        closedAt: null,
        applicationId: null,
      },
    });
    // The newer payment's news (sequence 5) first, then the older payment's earlier one (sequence 3).
    expect(await orders.apply(event(second, 'payment.needs_review', 5))).toBe('applied');
    expect(await orders.apply(event(first, 'payment.needs_review', 3))).toBe('stale');
    // A payment.succeeded is never dropped by sequence: the payment row decides (here it is not PAID: refused).
    expect(await orders.apply(event(first, 'payment.succeeded', 4))).toBe('refused');
    const [rows] = await db.query(
      'SELECT type, order_no, order_sequence, outcome FROM order_processed_events WHERE order_no = ? ORDER BY order_sequence',
      [orderNo],
    );
    expect(rows).toEqual([
      { type: 'payment.needs_review', order_no: orderNo, order_sequence: 3, outcome: 'stale' },
      { type: 'payment.succeeded', order_no: orderNo, order_sequence: 4, outcome: 'refused' },
      { type: 'payment.needs_review', order_no: orderNo, order_sequence: 5, outcome: 'applied' },
    ]);
  });
});
