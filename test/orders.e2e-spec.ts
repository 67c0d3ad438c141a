import type { Pool } from 'mysql2/promise';
import { RecoveryEngine } from '../src/payment-center/recovery/recovery-engine';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { http, orderBody, type RunningApp, startApp, uniqueId, paymentState } from './support/test-app';

describe('Checkout: orders and starting payments (e2e)', () => {
  const gateways = fakeGateways();
  let running: RunningApp;
  let db: Pool;

  beforeAll(async () => {
    running = await startApp(Object.values(gateways));
    db = sqlPool();
  });

  afterAll(async () => {
    await running.close();
    await db.end();
  });

  afterEach(() => running.clock.resume());

  beforeEach(() => {
    for (const gateway of Object.values(gateways)) {
      gateway.behaviour = 'create';
      gateway.delayMs = 0;
    }
  });

  const url = (path: string) => `${running.url}${path}`;
  const rows = async <T>(sql: string, params: unknown[]) => (await db.query(sql, params))[0] as T[];

  async function createOrder(buyerId = uniqueId('buyer'), body = orderBody(buyerId)) {
    const response = await http('POST', url('/api/orders'), body);
    expect(response.status).toBe(201);
    return response.body as { orderNo: string; amountFen: number; status: string; expiresAt: string };
  }

  it('creates an order with a server-computed total in fen and reads it back', async () => {
    const buyerId = uniqueId('buyer');
    const response = await http('POST', url('/api/orders'), {
      buyerId,
      items: [
        { sku: 'TEA-001', name: 'Longjing tea 250g', quantity: 3, unitPriceFen: 1999 },
        { sku: 'CUP-002', name: 'Celadon cup', quantity: 1, unitPriceFen: 4500 },
      ],
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotent-replayed')).toBeNull();
    const order = response.body;
    expect(order.orderNo).toMatch(/^ord_[0-9a-z]{20}$/);
    expect(order).toMatchObject({ buyerId, currency: 'CNY', amountFen: 3 * 1999 + 4500, status: 'CREATED' });
    const expiresInMs = Date.parse(order.expiresAt) - Date.parse(order.createdAt);
    expect(expiresInMs).toBe(30 * 60 * 1000);

    const read = await http('GET', url(`/api/orders/${order.orderNo}`));
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ orderNo: order.orderNo, amountFen: 10497, status: 'CREATED', payments: [] });
    expect(read.body.items).toEqual([
      { sku: 'TEA-001', name: 'Longjing tea 250g', quantity: 3, unitPriceFen: 1999, amountFen: 5997 },
      { sku: 'CUP-002', name: 'Celadon cup', quantity: 1, unitPriceFen: 4500, amountFen: 4500 },
    ]);
  });

  it.each([
    ['missing buyerId', { items: [{ sku: 'A', name: 'A', quantity: 1, unitPriceFen: 100 }] }, 'buyerId'],
    ['no items', { buyerId: 'b', items: [] }, 'items'],
    [
      'fractional price',
      { buyerId: 'b', items: [{ sku: 'A', name: 'A', quantity: 1, unitPriceFen: 1.5 }] },
      'items.0.unitPriceFen',
    ],
    [
      'price as a string',
      { buyerId: 'b', items: [{ sku: 'A', name: 'A', quantity: 1, unitPriceFen: '100' }] },
      'items.0.unitPriceFen',
    ],
    [
      'zero quantity',
      { buyerId: 'b', items: [{ sku: 'A', name: 'A', quantity: 0, unitPriceFen: 100 }] },
      'items.0.quantity',
    ],
    [
      'negative price',
      { buyerId: 'b', items: [{ sku: 'A', name: 'A', quantity: 1, unitPriceFen: -1 }] },
      'items.0.unitPriceFen',
    ],
    [
      'other currency',
      { buyerId: 'b', currency: 'USD', items: [{ sku: 'A', name: 'A', quantity: 1, unitPriceFen: 1 }] },
      'currency',
    ],
    [
      'unknown field',
      { buyerId: 'b', discount: 5, items: [{ sku: 'A', name: 'A', quantity: 1, unitPriceFen: 1 }] },
      'discount',
    ],
    [
      'total of zero',
      { buyerId: 'b', items: [{ sku: 'A', name: 'Free sample', quantity: 1, unitPriceFen: 0 }] },
      'items',
    ],
    [
      'total over the maximum',
      { buyerId: 'b', items: [{ sku: 'A', name: 'A', quantity: 2, unitPriceFen: 6_000_000 }] },
      'items',
    ],
  ])('refuses an order with %s: 400 naming the field, nothing written', async (_case, body, field) => {
    const buyerId = uniqueId('invalid');
    const response = await http('POST', url('/api/orders'), { ...body, ...('buyerId' in body ? { buyerId } : {}) });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(response.body.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await rows('SELECT id FROM orders WHERE buyer_id = ?', [buyerId])).toHaveLength(0);
  });

  it('refuses malformed JSON with 400', async () => {
    const response = await http('POST', url('/api/orders'), '{"buyerId": ');
    expect(response.status).toBe(400);
  });

  it('answers 404 for an unknown order or payment', async () => {
    expect((await http('GET', url('/api/orders/ord_doesnotexist'))).body.code).toBe('ORDER_NOT_FOUND');
    const pay = await http('POST', url('/api/orders/ord_doesnotexist/pay'), { channel: 'wechat' });
    expect(pay.status).toBe(404);
    const payment = await http('GET', url('/api/payments/P000'));
    expect(payment.status).toBe(404);
    expect(payment.body.code).toBe('PAYMENT_NOT_FOUND');
  });

  it('pays an order: one PAYING payment, a code URL for the buyer, and the order PAYING', async () => {
    const order = await createOrder();
    const response = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    expect(response.status).toBe(200);
    const payment = response.body;
    expect(payment).toMatchObject({
      orderNo: order.orderNo,
      channel: 'wechat',
      amountFen: order.amountFen,
      status: 'PAYING',
      payCredential: { type: 'code_url', codeUrl: `fake://wechat/${payment.paymentNo}` },
      version: 1,
    });
    expect(payment.paymentNo).toMatch(/^P\d{28}$/);
    expect(Date.parse(payment.nextQueryAt) - Date.parse(payment.createdAt)).toBe(30_000);
    expect(gateways.wechat.callsFor(payment.paymentNo)).toBe(1);
    expect(gateways.wechat.createCalls.find((c) => c.paymentNo === payment.paymentNo)).toMatchObject({
      amountFen: order.amountFen,
      currency: 'CNY',
      description: 'Longjing tea 250g',
    });

    const read = await http('GET', url(`/api/orders/${order.orderNo}`));
    expect(read.body).toMatchObject({ status: 'PAYING', paymentNo: payment.paymentNo, channel: 'wechat' });
    expect(read.body.payments).toHaveLength(1);

    const status = await http('GET', url(`/api/payments/${payment.paymentNo}`));
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ paymentNo: payment.paymentNo, status: 'PAYING' });
    expect(status.body.history).toEqual([
      expect.objectContaining({ event: 'START', from: 'CREATED', to: 'PAYING', version: 1 }),
    ]);
  });

  it('a second pay with the same channel resumes the open payment without a second vendor order', async () => {
    const order = await createOrder();
    const first = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' });
    // A different Idempotency-Key: this is the buyer coming back, not a double click.
    const second = await http(
      'POST',
      url(`/api/orders/${order.orderNo}/pay`),
      { channel: 'alipay' },
      { 'Idempotency-Key': uniqueId('k') },
    );
    expect(second.status).toBe(200);
    expect(second.body.paymentNo).toBe(first.body.paymentNo);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(gateways.alipay.callsFor(first.body.paymentNo)).toBe(1);
    expect(await rows('SELECT id FROM payments WHERE order_no = ?', [order.orderNo])).toHaveLength(1);
  });

  it('paying with another channel opens a second payment for the same order', async () => {
    const order = await createOrder();
    const wechat = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    const alipay = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' });
    expect(alipay.status).toBe(200);
    expect(alipay.body.paymentNo).not.toBe(wechat.body.paymentNo);
    const read = await http('GET', url(`/api/orders/${order.orderNo}`));
    expect(read.body.payments.map((p: { channel: string }) => p.channel)).toEqual(['wechat', 'alipay']);
    expect(read.body).toMatchObject({ status: 'PAYING', channel: 'alipay', paymentNo: alipay.body.paymentNo });
  });

  it('refuses to pay an order that is already paid: 409 ORDER_ALREADY_PAID, no new payment', async () => {
    const order = await createOrder();
    const started = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    await paymentState(running.app).apply(started.body.paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('wx'),
      paidAmountFen: order.amountFen,
      paidAt: new Date(),
    });
    const alipayCallsBefore = gateways.alipay.createCalls.length;
    const again = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ORDER_ALREADY_PAID');
    expect(await rows('SELECT id FROM payments WHERE order_no = ?', [order.orderNo])).toHaveLength(1);
    expect(gateways.alipay.createCalls.length).toBe(alipayCallsBefore);
  });

  it('an order already marked PAID is refused by Orders itself, before the PaymentCenter is asked', async () => {
    const order = await createOrder();
    await db.query("UPDATE orders SET status = 'PAID' WHERE order_no = ?", [order.orderNo]);
    const response = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('ORDER_ALREADY_PAID');
    expect(await rows('SELECT id FROM payment_intents WHERE order_no = ?', [order.orderNo])).toHaveLength(0);
  });

  it('refuses to pay a closed order: 409 ORDER_CLOSED', async () => {
    const order = await createOrder();
    await db.query("UPDATE orders SET status = 'CLOSED' WHERE order_no = ?", [order.orderNo]);
    const response = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('ORDER_CLOSED');
    expect(await rows('SELECT id FROM payments WHERE order_no = ?', [order.orderNo])).toHaveLength(0);
  });

  it('refuses to pay an expired order: 409 ORDER_EXPIRED, nothing written', async () => {
    const order = await createOrder();
    running.clock.advance(30 * 60 * 1000 + 1);
    try {
      const response = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
      expect(response.status).toBe(409);
      expect(response.body.code).toBe('ORDER_EXPIRED');
      expect(await rows('SELECT id FROM payment_intents WHERE order_no = ?', [order.orderNo])).toHaveLength(0);
    } finally {
      running.clock.advance(-(30 * 60 * 1000 + 1));
    }
  });

  it('refuses an unknown channel with 400 and nothing written', async () => {
    const order = await createOrder();
    const response = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'paypal' });
    expect(response.status).toBe(400);
    expect(response.body.details[0].field).toBe('channel');
    expect(await rows('SELECT id FROM payment_intents WHERE order_no = ?', [order.orderNo])).toHaveLength(0);
  });

  it('a definite refusal by the vendor fails that payment (502) and the buyer can try again', async () => {
    const order = await createOrder();
    gateways.unionpay.behaviour = 'reject';
    const refused = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'unionpay' });
    expect(refused.status).toBe(502);
    expect(refused.body.code).toBe('GATEWAY_REJECTED');
    const failed = await http('GET', url(`/api/payments/${refused.body.details.paymentNo}`));
    expect(failed.body).toMatchObject({
      status: 'FAILED',
      statusReason: 'INVALID_REQUEST: refused by the fake vendor',
      nextQueryAt: null,
    });

    gateways.unionpay.behaviour = 'create';
    const retried = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'unionpay' });
    expect(retried.status).toBe(200);
    expect(retried.body.paymentNo).not.toBe(refused.body.details.paymentNo);
  });

  it('an unknown vendor answer (timeout) leaves the payment PAYING and never FAILED; a later pay resumes it with the same payment number', async () => {
    const order = await createOrder();
    gateways.wechat.behaviour = 'hang';
    // The clock stands still: the window below is the app's, not how long a loaded machine takes to ask again.
    running.clock.freeze();
    const timedOut = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    expect(timedOut.status).toBe(503);
    expect(timedOut.body.code).toBe('GATEWAY_UNAVAILABLE');
    expect(timedOut.headers.get('retry-after')).toBe('2');
    const paymentNo = timedOut.body.details.paymentNo as string;
    const pending = await http('GET', url(`/api/payments/${paymentNo}`));
    expect(pending.body).toMatchObject({ status: 'PAYING', payCredential: null });
    expect(pending.body.statusReason).toMatch(/no answer within 1500 ms/);
    expect(pending.body.nextQueryAt).not.toBeNull();

    gateways.wechat.behaviour = 'create';
    // The timed-out call keeps its window (timeout + margin) so a late vendor answer and a retry never overlap.
    const early = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('PAYMENT_STARTING');
    running.clock.advance(3600);
    const resumed = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    expect(resumed.status).toBe(200);
    expect(resumed.body.paymentNo).toBe(paymentNo);
    expect(resumed.body.payCredential.codeUrl).toBe(`fake://wechat/${paymentNo}`);
    expect(gateways.wechat.callsFor(paymentNo)).toBe(2);
    expect(await rows('SELECT id FROM payments WHERE order_no = ?', [order.orderNo])).toHaveLength(1);
  });

  it('a repeated vendor call that is refused never fails the payment: it stays PAYING for the query schedule', async () => {
    const order = await createOrder();
    gateways.alipay.behaviour = 'unknown'; // answers quickly without a result
    const first = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' });
    expect(first.status).toBe(503);
    const paymentNo = first.body.details.paymentNo as string;
    gateways.alipay.behaviour = 'reject'; // e.g. "order already exists" on the repeated request
    const repeated = await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' });
    expect(repeated.status).toBe(502);
    expect(repeated.body.details.paymentNo).toBe(paymentNo);
    const payment = await http('GET', url(`/api/payments/${paymentNo}`));
    expect(payment.body).toMatchObject({
      status: 'PAYING',
      statusReason: expect.stringMatching(/^create payment \(repeated\)/),
    });
    expect(payment.body.nextQueryAt).not.toBeNull();
    expect(gateways.alipay.callsFor(paymentNo)).toBe(2);
  });

  it('a vendor answer that arrives after a callback moved the payment on does not overwrite it', async () => {
    const order = await createOrder();
    gateways.unionpay.delayMs = 500;
    const pending = http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'unionpay' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const [row] = await rows<{ payment_no: string }>('SELECT payment_no FROM payments WHERE order_no = ?', [
      order.orderNo,
    ]);
    await paymentState(running.app).apply(row.payment_no, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('up'),
      paidAmountFen: order.amountFen,
      paidAt: new Date(),
    });
    const answered = await pending;
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ paymentNo: row.payment_no, status: 'PAID', payCredential: null });
  });

  it('a vendor answer that arrives after recovery asked about the still-PAYING payment is recorded, and the answer shows the payment as it is now', async () => {
    const order = await createOrder();
    gateways.wechat.delayMs = 1000; // within the 1.5 s call timeout; recovery works the payment meanwhile
    const pending = http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    let paymentNo: string | undefined;
    while (!paymentNo) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      [{ payment_no: paymentNo } = { payment_no: undefined }] = await rows<{ payment_no: string }>(
        'SELECT payment_no FROM payments WHERE order_no = ?',
        [order.orderNo],
      );
    }
    // Its first query falls due while the vendor is still creating the trade: recovery asks (not paid yet)
    // and schedules the next query, so the row is no longer as the pay request wrote it.
    await db.query('UPDATE payments SET next_query_at = UTC_TIMESTAMP(3) WHERE payment_no = ?', [paymentNo]);
    expect(await running.app.get(RecoveryEngine).run('payment', paymentNo, 0)).toBe('worked');
    const asked = (await http('GET', url(`/api/payments/${paymentNo}`))).body;
    expect(asked).toMatchObject({ status: 'PAYING', queryAttempts: 1, payCredential: null });

    const answered = await pending;
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({
      paymentNo,
      status: 'PAYING',
      payCredential: { type: 'code_url', codeUrl: `fake://wechat/${paymentNo}` },
      queryAttempts: 1,
      nextQueryAt: asked.nextQueryAt,
    });
    const read = await http('GET', url(`/api/payments/${paymentNo}`));
    expect(read.body).toMatchObject({
      payCredential: answered.body.payCredential,
      queryAttempts: 1,
      nextQueryAt: asked.nextQueryAt,
    });
  });

  it('while the vendor call is still running, another pay gets 409 PAYMENT_STARTING instead of a second call', async () => {
    const order = await createOrder();
    gateways.alipay.delayMs = 800;
    const first = http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await http(
      'POST',
      url(`/api/orders/${order.orderNo}/pay`),
      { channel: 'alipay' },
      { 'Idempotency-Key': uniqueId('k') },
    );
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('PAYMENT_STARTING');
    expect(second.headers.get('retry-after')).toBe('1');
    const done = await first;
    expect(done.status).toBe(200);
    expect(gateways.alipay.callsFor(done.body.paymentNo)).toBe(1);
  });
});
