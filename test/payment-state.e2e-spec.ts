import type { Pool } from 'mysql2/promise';
import { IllegalTransition } from '../src/payment-center/payment-errors';
import type { TransitionOutcome } from '../src/payment-center/payment-state.service';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { http, orderBody, type RunningApp, startApp, uniqueId, paymentState } from './support/test-app';

/** The one state-change function, against MariaDB, from two app instances at once. */
describe('PaymentStateService.apply (integration, two app instances)', () => {
  const gateways = fakeGateways();
  let instances: RunningApp[];
  let db: Pool;

  beforeAll(async () => {
    instances = [await startApp(Object.values(gateways)), await startApp(Object.values(gateways))];
    db = sqlPool();
  });

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.close()));
    await db.end();
  });

  const services = () => instances.map((instance) => paymentState(instance.app));

  async function payingPayment(): Promise<{ paymentNo: string; amountFen: number }> {
    const order = (await http('POST', `${instances[0].url}/api/orders`, orderBody(uniqueId('state')))).body;
    const payment = (await http('POST', `${instances[0].url}/api/orders/${order.orderNo}/pay`, { channel: 'wechat' }))
      .body;
    return { paymentNo: payment.paymentNo, amountFen: payment.amountFen };
  }

  async function row(paymentNo: string) {
    const [rows] = await db.query(
      'SELECT status, version, gateway_trade_no, next_query_at FROM payments WHERE payment_no = ?',
      [paymentNo],
    );
    return (
      rows as { status: string; version: number; gateway_trade_no: string | null; next_query_at: Date | null }[]
    )[0];
  }

  async function history(paymentNo: string) {
    const [rows] = await db.query(
      'SELECT event, from_status, to_status, version FROM payment_transitions WHERE payment_no = ? ORDER BY id',
      [paymentNo],
    );
    return rows as { event: string; from_status: string; to_status: string; version: number }[];
  }

  it('30 concurrent deliveries of the same paid result apply exactly once', async () => {
    const { paymentNo, amountFen } = await payingPayment();
    const tradeNo = uniqueId('4200000');
    const outcomes: TransitionOutcome[] = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        services()[i % 2].apply(paymentNo, {
          type: 'PAID_CONFIRMED',
          gatewayTradeNo: tradeNo,
          paidAmountFen: amountFen,
          paidAt: new Date(),
        }),
      ),
    );
    expect(outcomes.filter((o) => o.changed)).toHaveLength(1);
    expect(await row(paymentNo)).toMatchObject({
      status: 'PAID',
      version: 2,
      gateway_trade_no: tradeNo,
      next_query_at: null,
    });
    expect(await history(paymentNo)).toEqual([
      { event: 'START', from_status: 'CREATED', to_status: 'PAYING', version: 1 },
      { event: 'PAID_CONFIRMED', from_status: 'PAYING', to_status: 'PAID', version: 2 },
    ]);
  });

  it('a paid result racing a close: the money wins and the late close writes nothing', async () => {
    const { paymentNo, amountFen } = await payingPayment();
    const [service0, service1] = services();
    const results = await Promise.all([
      service0.apply(paymentNo, { type: 'CLOSE_REQUESTED', reason: 'order expired', nextQueryAt: new Date() }),
      service1.apply(paymentNo, {
        type: 'PAID_CONFIRMED',
        gatewayTradeNo: uniqueId('wx'),
        paidAmountFen: amountFen,
        paidAt: new Date(),
      }),
    ]);
    expect((await row(paymentNo)).status).toBe('PAID');
    // Whichever order they ran in, the result is PAID: close then paid (CLOSING → PAID), or paid then a no-op close.
    expect(results[1].changed).toBe(true);
    const events = (await history(paymentNo)).map((h) => `${h.from_status}->${h.to_status}`);
    expect([
      ['CREATED->PAYING', 'PAYING->PAID'],
      ['CREATED->PAYING', 'PAYING->CLOSING', 'CLOSING->PAID'],
    ]).toContainEqual(events);
  });

  it('a stale failure after PAID changes nothing; START on a paid payment is refused as a bug', async () => {
    const { paymentNo, amountFen } = await payingPayment();
    const [service] = services();
    await service.apply(paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('wx'),
      paidAmountFen: amountFen,
      paidAt: new Date(),
    });
    const stale = await service.apply(paymentNo, { type: 'FAILED_CONFIRMED', reason: 'late PAYERROR' });
    expect(stale.changed).toBe(false);
    await expect(service.apply(paymentNo, { type: 'START', nextQueryAt: new Date() })).rejects.toBeInstanceOf(
      IllegalTransition,
    );
    expect(await row(paymentNo)).toMatchObject({ status: 'PAID', version: 2 });
    expect(await history(paymentNo)).toHaveLength(2);
  });

  it('a paid amount that differs from the payment sends it to review, not to PAID', async () => {
    const { paymentNo, amountFen } = await payingPayment();
    const outcome = await services()[0].apply(paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('wx'),
      paidAmountFen: amountFen - 1,
      paidAt: new Date(),
    });
    expect(outcome).toMatchObject({ changed: true, to: 'NEEDS_REVIEW' });
    const [rows] = await db.query('SELECT status, status_reason FROM payments WHERE payment_no = ?', [paymentNo]);
    expect((rows as { status: string; status_reason: string }[])[0]).toMatchObject({
      status: 'NEEDS_REVIEW',
      status_reason: expect.stringContaining(`${amountFen - 1} fen paid`),
    });
  });

  it('a paid answer naming a trade already recorded for another payment goes to review', async () => {
    const first = await payingPayment();
    const second = await payingPayment();
    const [service] = services();
    const tradeNo = uniqueId('dup-trade');
    await service.apply(first.paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: tradeNo,
      paidAmountFen: first.amountFen,
      paidAt: new Date(),
    });
    const outcome = await service.apply(second.paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: tradeNo,
      paidAmountFen: second.amountFen,
      paidAt: new Date(),
    });
    // Not recorded twice and not dropped: an operator looks at it.
    expect(outcome).toMatchObject({ changed: true, to: 'NEEDS_REVIEW' });
    expect(await row(second.paymentNo)).toMatchObject({ status: 'NEEDS_REVIEW', gateway_trade_no: null });
  });
});
