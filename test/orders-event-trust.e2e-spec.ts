import type { Pool } from 'mysql2/promise';
import { randomUUID } from 'node:crypto';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { PAYMENT_EVENTS_EXCHANGE, partnerQueue, signatureHeader } from '../src/notifications/payment-event';
import { AmqpProbe, waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId, paymentState } from './support/test-app';

const ORDERS = testPartners('t')('trust', ['payment.#']);

/**
 * The Orders consumer takes a payment event as a hint, never as proof: whoever holds a partner key (every
 * partner verifies with one, and a leaked one signs anything) can publish a well-signed `payment.succeeded`
 * straight to the exchange. The order becomes PAID only when the PaymentCenter's payment row says so.
 */
describe('Orders does not take a payment event’s word for money (e2e, real RabbitMQ)', () => {
  const gateways = fakeGateways();
  let instance: RunningApp;
  let db: Pool;
  let probe: AmqpProbe;

  beforeAll(async () => {
    instance = await startApp(Object.values(gateways), new TestClock(), {
      partners: [ORDERS],
      ordersPartner: ORDERS.name,
      consumersEnabled: true,
      relay: { enabled: true, pollIntervalMs: 200, publishTimeoutMs: 1000, batchSize: 50, claimLeaseMs: 30_000 },
    });
    await instance.app.get(AmqpConnection).ready(); // the Orders queue is declared and bound
    db = sqlPool();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    await instance.close();
    await probe.deleteQueues([partnerQueue(ORDERS.name)]);
    await probe.close();
    await db.end();
  });

  const orderOf = async (orderNo: string) => (await http('GET', `${instance.url}/api/orders/${orderNo}`)).body;

  async function newOrder(): Promise<{ orderNo: string; amountFen: number }> {
    const order = (await http('POST', `${instance.url}/api/orders`, orderBody(uniqueId('trust')))).body;
    return { orderNo: order.orderNo, amountFen: order.amountFen };
  }

  async function payingOrder() {
    const order = await newOrder();
    const payment = (await http('POST', `${instance.url}/api/orders/${order.orderNo}/pay`, { channel: 'wechat' })).body;
    return { ...order, paymentNo: payment.paymentNo as string };
  }

  /**
   * What an attacker with a partner key does: a documented event body, signed, on the exchange; with a high
   * version, so that no event applied before makes it stale.
   */
  function publishSigned(payment: { paymentNo: string; orderNo: string; amountFen: number }): string {
    const event = {
      id: randomUUID(),
      type: 'payment.succeeded',
      occurredAt: new Date().toISOString(),
      version: 99,
      payment: {
        ...payment,
        channel: 'wechat',
        currency: 'CNY',
        status: 'PAID',
        gatewayTradeNo: uniqueId('4200'),
        paidAmountFen: payment.amountFen,
        paidAt: new Date().toISOString(),
        closedAt: null,
      },
    };
    const body = Buffer.from(JSON.stringify(event));
    probe.channel.publish(PAYMENT_EVENTS_EXCHANGE, 'payment.succeeded', body, {
      messageId: event.id,
      type: event.type,
      contentType: 'application/json',
      headers: { 'x-pc-signature': signatureHeader(Math.floor(Date.now() / 1000), body, [ORDERS]) },
    });
    return event.id;
  }

  /** The consumer's record of the event: it has been handled (whatever it decided) once this exists. */
  const handled = (eventId: string) =>
    waitFor(`event ${eventId} handled`, async () => {
      const [rows] = await db.query('SELECT outcome FROM order_processed_events WHERE event_id = ?', [eventId]);
      return (rows as { outcome: string }[])[0];
    });

  it('a signed payment.succeeded for a payment still PAYING does not mark its order PAID', async () => {
    const { orderNo, paymentNo, amountFen } = await payingOrder();
    const eventId = publishSigned({ paymentNo, orderNo, amountFen });
    expect(await handled(eventId)).toEqual({ outcome: 'refused' });
    expect(await orderOf(orderNo)).toMatchObject({ status: 'PAYING', paymentNo });
  });

  it('a signed payment.succeeded naming a payment that does not exist does not mark an unpaid order PAID', async () => {
    const { orderNo, amountFen } = await newOrder();
    const eventId = publishSigned({
      paymentNo: `pay_${uniqueId('x').replace(/-/g, '').slice(0, 20)}`,
      orderNo,
      amountFen,
    });
    expect(await handled(eventId)).toEqual({ outcome: 'refused' });
    expect(await orderOf(orderNo)).toMatchObject({ status: 'CREATED', paymentNo: null });
  });

  it('a genuinely paid payment of another order does not pay this one', async () => {
    const cheap = await payingOrder();
    await confirmPaid(cheap.paymentNo, cheap.amountFen);
    await waitFor('the cheap order PAID', async () => (await orderOf(cheap.orderNo)).status === 'PAID');
    const target = await payingOrder();
    const eventId = publishSigned({ paymentNo: cheap.paymentNo, orderNo: target.orderNo, amountFen: target.amountFen });
    expect(await handled(eventId)).toEqual({ outcome: 'refused' });
    expect(await orderOf(target.orderNo)).toMatchObject({ status: 'PAYING', paymentNo: target.paymentNo });
  });

  it('a genuine payment still marks its order PAID, from what the payment row says', async () => {
    const { orderNo, paymentNo, amountFen } = await payingOrder();
    await confirmPaid(paymentNo, amountFen);
    await waitFor('order PAID', async () => (await orderOf(orderNo)).status === 'PAID');
    expect(await orderOf(orderNo)).toMatchObject({ status: 'PAID', paymentNo, channel: 'wechat' });
    const [rows] = await db.query('SELECT outcome FROM order_processed_events WHERE payment_no = ?', [paymentNo]);
    expect(rows).toEqual([{ outcome: 'applied' }]);
  });

  function confirmPaid(paymentNo: string, amountFen: number) {
    return paymentState(instance.app).apply(paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('4200'),
      paidAmountFen: amountFen,
      paidAt: new Date(),
    });
  }
});
