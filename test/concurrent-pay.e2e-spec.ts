import type { Pool } from 'mysql2/promise';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { http, orderBody, type RunningApp, startApp, uniqueId } from './support/test-app';

/**
 * Starting a payment takes the order's intent row lock in MariaDB. 50 buyers' taps arriving at two
 * instances at once must produce one vendor order and one PAYING payment. Each request carries its own
 * Idempotency-Key so that the Redis guard lets all of them through to the database.
 */
describe('Concurrent pay on one order (e2e, two app instances)', () => {
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

  async function payBurst(orderNo: string, count: number, channel: string) {
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        http(
          'POST',
          `${instances[i % 2].url}/api/orders/${orderNo}/pay`,
          { channel },
          { 'Idempotency-Key': uniqueId('tap') },
        ),
      ),
    );
  }

  async function paymentsOf(orderNo: string) {
    const [found] = await db.query('SELECT payment_no, status, channel FROM payments WHERE order_no = ?', [orderNo]);
    return found as { payment_no: string; status: string; channel: string }[];
  }

  it('50 concurrent pays: one vendor order, one PAYING payment, every answer that payment or 409 PAYMENT_STARTING', async () => {
    const order = (await http('POST', `${instances[0].url}/api/orders`, orderBody(uniqueId('tapper')))).body;
    gateways.wechat.delayMs = 300; // a vendor round trip, so the taps overlap with the call
    const responses = await payBurst(order.orderNo, 50, 'wechat');

    const payments = await paymentsOf(order.orderNo);
    expect(payments).toHaveLength(1);
    expect(payments[0].status).toBe('PAYING');
    expect(gateways.wechat.callsFor(payments[0].payment_no)).toBe(1);
    for (const response of responses) {
      if (response.status === 200) {
        expect(response.body.paymentNo).toBe(payments[0].payment_no);
        expect(response.body.payCredential.codeUrl).toBe(`fake://wechat/${payments[0].payment_no}`);
      } else {
        expect(response.status).toBe(409);
        expect(response.body.code).toBe('PAYMENT_STARTING');
      }
    }
    expect(responses.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);

    // Once the vendor has answered, every further tap resumes the same payment.
    const later = await payBurst(order.orderNo, 20, 'wechat');
    expect(later.every((r) => r.status === 200 && r.body.paymentNo === payments[0].payment_no)).toBe(true);
    expect(gateways.wechat.callsFor(payments[0].payment_no)).toBe(1);
    const [transitions] = await db.query('SELECT event FROM payment_transitions WHERE payment_no = ?', [
      payments[0].payment_no,
    ]);
    expect(transitions).toEqual([{ event: 'START' }]);
  });

  it('concurrent pays on many orders at once do not block each other or mix payments up', async () => {
    gateways.alipay.delayMs = 50;
    const orders = await Promise.all(
      Array.from({ length: 20 }, () => http('POST', `${instances[0].url}/api/orders`, orderBody(uniqueId('many')))),
    );
    const bursts = await Promise.all(orders.map((o) => payBurst(o.body.orderNo, 5, 'alipay')));
    for (const [i, order] of orders.entries()) {
      const payments = await paymentsOf(order.body.orderNo);
      expect(payments).toHaveLength(1);
      expect(gateways.alipay.callsFor(payments[0].payment_no)).toBe(1);
      for (const response of bursts[i]) {
        expect([200, 409]).toContain(response.status);
        if (response.status === 200) expect(response.body.orderNo).toBe(order.body.orderNo);
      }
    }
  });
  it('a call whose process died is taken over once its time is up: the vendor is asked again, once, and answers', async () => {
    const order = (await http('POST', `${instances[0].url}/api/orders`, orderBody(uniqueId('takeover')))).body;
    const pay = () => http('POST', `${instances[0].url}/api/orders/${order.orderNo}/pay`, { channel: 'alipay' });
    gateways.alipay.delayMs = 0;
    gateways.alipay.behaviour = 'unknown';
    expect((await pay()).status).toBe(503);
    gateways.alipay.behaviour = 'create';
    const [payment] = await paymentsOf(order.orderNo);
    // As a process killed during its call leaves it: the call marked a minute ago (to the millisecond), never answered.
    const markedAt = new Date(Date.now() - 60_123).toISOString().replace('T', ' ').replace('Z', '');
    await db.query('UPDATE payments SET gateway_requested_at = ? WHERE payment_no = ?', [markedAt, payment.payment_no]);

    const taken = await pay();
    expect([taken.status, taken.body.paymentNo, taken.body.payCredential?.codeUrl]).toEqual([
      200,
      payment.payment_no,
      `fake://alipay/${payment.payment_no}`,
    ]);
    expect(gateways.alipay.callsFor(payment.payment_no)).toBe(2);
  });

  it("a payment paid between the plan's read and its call mark is not sent to the vendor again", async () => {
    const order = (await http('POST', `${instances[0].url}/api/orders`, orderBody(uniqueId('resume')))).body;
    const pay = () =>
      http(
        'POST',
        `${instances[1].url}/api/orders/${order.orderNo}/pay`,
        { channel: 'unionpay' },
        {
          'Idempotency-Key': uniqueId('tap'),
        },
      );
    // The first call gets no answer: the payment stays PAYING, with no credential and no call running.
    gateways.unionpay.behaviour = 'unknown';
    expect((await pay()).status).toBe(503);
    gateways.unionpay.behaviour = 'create';
    const [payment] = await paymentsOf(order.orderNo);
    expect(payment.status).toBe('PAYING');

    // A callback's transaction holds the payment's row lock and marks it PAID while the buyer taps again: the
    // tap's plan reads the payment (still PAYING in its snapshot) and waits on the lock to mark its call.
    const callback = await db.getConnection();
    try {
      await callback.query('START TRANSACTION');
      await callback.query(
        `UPDATE payments SET status = 'PAID', paid_amount_fen = amount_fen, paid_at = NOW(3), version = version + 1
          WHERE payment_no = ?`,
        [payment.payment_no],
      );
      const tap = pay();
      await waitFor("the tap to wait on the payment's row lock", async () => {
        const [waiting] = await db.query(
          `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX
            WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE '%gateway_requested_at%'`,
        );
        return Number((waiting as { n: number }[])[0].n) === 1;
      });
      await callback.query('COMMIT');

      const answer = await tap;
      expect([answer.status, answer.body.code]).toEqual([409, 'ORDER_ALREADY_PAID']);
      expect(gateways.unionpay.callsFor(payment.payment_no)).toBe(1); // only the first, unanswered call
      const [row] = await db.query('SELECT status, gateway_requested_at FROM payments WHERE payment_no = ?', [
        payment.payment_no,
      ]);
      expect(row).toEqual([{ status: 'PAID', gateway_requested_at: null }]);
    } finally {
      await callback.query('ROLLBACK'); // nothing to undo once committed; else this test failed before its COMMIT
      // This PAID came from no vendor: close it so no other suite meets a paid payment without its history.
      await callback.query(
        `UPDATE payments SET status = 'CLOSED', closed_at = NOW(3), paid_amount_fen = NULL, paid_at = NULL
          WHERE payment_no = ?`,
        [payment.payment_no],
      );
      callback.release();
    }
  });
});
