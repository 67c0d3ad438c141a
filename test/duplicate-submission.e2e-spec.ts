import type { Pool } from 'mysql2/promise';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { flushRedis, startRedis, stopRedis } from './support/services';
import { http, type HttpResult, orderBody, type RunningApp, startApp, uniqueId } from './support/test-app';

/**
 * The duplicate-submission guard under real concurrency: two app instances (separate HTTP servers,
 * database pools and Redis clients) take the same requests at once.
 */
describe('Duplicate-submission guard (e2e, two app instances)', () => {
  const gateways = fakeGateways();
  let instances: RunningApp[];
  let db: Pool;

  beforeAll(async () => {
    instances = [await startApp(Object.values(gateways)), await startApp(Object.values(gateways))];
    db = sqlPool();
  });

  afterAll(async () => {
    await startRedis();
    await Promise.all(instances.map((instance) => instance.close()));
    await db.end();
  });

  beforeEach(() => {
    for (const gateway of Object.values(gateways)) {
      gateway.behaviour = 'create';
      gateway.delayMs = 0;
    }
  });

  /** Sends `count` copies of one request at once, alternating between the instances. */
  function burst(count: number, path: string, body: unknown, headers: Record<string, string> = {}) {
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        http('POST', `${instances[i % instances.length].url}${path}`, body, headers),
      ),
    );
  }

  async function ordersOf(buyerId: string): Promise<string[]> {
    const [found] = await db.query('SELECT order_no FROM orders WHERE buyer_id = ?', [buyerId]);
    return (found as { order_no: string }[]).map((row) => row.order_no);
  }

  /** Every answer is the original 201, a replay of it, or a 409 "still in flight". */
  function expectOneOrderAnswers(responses: HttpResult[], orderNo: string) {
    for (const response of responses) {
      if (response.status === 201) {
        expect(response.body.orderNo).toBe(orderNo);
      } else {
        expect(response.status).toBe(409);
        expect(response.body.code).toBe('IDEMPOTENCY_KEY_IN_USE');
        expect(response.headers.get('retry-after')).toBe('1');
      }
    }
    const originals = responses.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
    expect(originals).toHaveLength(1);
    // Redis caught duplicates while the first was in flight (the database alone never answers 409).
    expect(responses.some((r) => r.status === 409)).toBe(true);
  }

  it('100 concurrent identical order submissions (no key: derived hash) create exactly one order', async () => {
    const buyerId = uniqueId('double-click');
    const responses = await burst(100, '/api/orders', orderBody(buyerId));
    const orders = await ordersOf(buyerId);
    expect(orders).toHaveLength(1);
    expectOneOrderAnswers(responses, orders[0]);
  });

  it('100 concurrent submissions with the same Idempotency-Key create exactly one order', async () => {
    const buyerId = uniqueId('keyed');
    const key = uniqueId('key');
    const responses = await burst(100, '/api/orders', orderBody(buyerId), { 'Idempotency-Key': key });
    const orders = await ordersOf(buyerId);
    expect(orders).toHaveLength(1);
    expectOneOrderAnswers(responses, orders[0]);

    // After the first completes, a retry gets the stored response replayed, byte for byte the same order.
    const retry = await http('POST', `${instances[1].url}/api/orders`, orderBody(buyerId), { 'Idempotency-Key': key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.orderNo).toBe(orders[0]);
  });

  it('the same Idempotency-Key with a different body is refused with 422 and creates nothing', async () => {
    const buyerId = uniqueId('reuse');
    const key = uniqueId('key');
    const first = await http('POST', `${instances[0].url}/api/orders`, orderBody(buyerId, 100), {
      'Idempotency-Key': key,
    });
    expect(first.status).toBe(201);
    const other = await http('POST', `${instances[1].url}/api/orders`, orderBody(buyerId, 999), {
      'Idempotency-Key': key,
    });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await ordersOf(buyerId)).toHaveLength(1);
  });

  it('the database refuses a reused key with another body even when Redis has forgotten the key', async () => {
    const buyerId = uniqueId('reuse-flushed');
    const key = uniqueId('key');
    expect(
      (await http('POST', `${instances[0].url}/api/orders`, orderBody(buyerId, 100), { 'Idempotency-Key': key }))
        .status,
    ).toBe(201);
    flushRedis();
    const other = await http('POST', `${instances[1].url}/api/orders`, orderBody(buyerId, 999), {
      'Idempotency-Key': key,
    });
    expect(other.status).toBe(422);
    expect(await ordersOf(buyerId)).toHaveLength(1);
  });

  it('an Idempotency-Key that is too long or not printable ASCII is refused with 400', async () => {
    const buyerId = uniqueId('badkey');
    const response = await http('POST', `${instances[0].url}/api/orders`, orderBody(buyerId), {
      'Idempotency-Key': 'k'.repeat(256),
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(await ordersOf(buyerId)).toHaveLength(0);
  });

  it('a 5xx releases the key so the client can retry with it', async () => {
    const order = (await http('POST', `${instances[0].url}/api/orders`, orderBody(uniqueId('retry5xx')))).body;
    const key = uniqueId('key');
    gateways.wechat.behaviour = 'unknown';
    const failed = await http(
      'POST',
      `${instances[0].url}/api/orders/${order.orderNo}/pay`,
      { channel: 'wechat' },
      { 'Idempotency-Key': key },
    );
    expect(failed.status).toBe(503);

    gateways.wechat.behaviour = 'create';
    const retried = await http(
      'POST',
      `${instances[1].url}/api/orders/${order.orderNo}/pay`,
      { channel: 'wechat' },
      { 'Idempotency-Key': key },
    );
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect(retried.body.paymentNo).toBe(failed.body.details.paymentNo);
    expect(retried.body.payCredential).not.toBeNull();
  });

  it('a repeated pay is answered from Redis with the first response replayed, without reaching the service', async () => {
    const order = (await http('POST', `${instances[0].url}/api/orders`, orderBody(uniqueId('pay-replay')))).body;
    const first = await http('POST', `${instances[0].url}/api/orders/${order.orderNo}/pay`, { channel: 'unionpay' });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const calls = gateways.unionpay.createCalls.length;
    const again = await http('POST', `${instances[1].url}/api/orders/${order.orderNo}/pay`, { channel: 'unionpay' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(gateways.unionpay.createCalls.length).toBe(calls);
  });

  it('a derived key only lasts its short window: the same basket later is a new order', async () => {
    const buyerId = uniqueId('window');
    const first = await http('POST', `${instances[0].url}/api/orders`, orderBody(buyerId));
    const duplicate = await http('POST', `${instances[1].url}/api/orders`, orderBody(buyerId));
    expect(duplicate.body.orderNo).toBe(first.body.orderNo);
    await new Promise((resolve) => setTimeout(resolve, 2100)); // IDEMPOTENCY_DERIVED_TTL_SECONDS=2 in tests
    const later = await http('POST', `${instances[1].url}/api/orders`, orderBody(buyerId));
    expect(later.status).toBe(201);
    expect(later.body.orderNo).not.toBe(first.body.orderNo);
    expect(await ordersOf(buyerId)).toHaveLength(2);
  });

  it('Redis flushed mid-stream: duplicates still yield one order (the database has the last word)', async () => {
    const buyerId = uniqueId('flushed');
    const key = uniqueId('key');
    const first = await http('POST', `${instances[0].url}/api/orders`, orderBody(buyerId), { 'Idempotency-Key': key });
    expect(first.status).toBe(201);
    flushRedis();
    const responses = await burst(50, '/api/orders', orderBody(buyerId), { 'Idempotency-Key': key });
    expect(await ordersOf(buyerId)).toEqual([first.body.orderNo]);
    for (const response of responses) {
      if (response.status === 201) {
        expect(response.body.orderNo).toBe(first.body.orderNo);
        expect(response.headers.get('idempotent-replayed')).toBe('true');
      } else {
        expect(response.status).toBe(409);
      }
    }
  });

  describe('with Redis stopped', () => {
    beforeAll(stopRedis);
    afterAll(startRedis);

    it('50 concurrent identical submissions (derived hash) still create one order, all answered 201', async () => {
      const buyerId = uniqueId('no-redis');
      const responses = await burst(50, '/api/orders', orderBody(buyerId));
      const orders = await ordersOf(buyerId);
      expect(orders).toHaveLength(1);
      for (const response of responses) {
        expect(response.status).toBe(201);
        expect(response.body.orderNo).toBe(orders[0]);
      }
      expect(responses.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    });

    it('50 concurrent submissions with one Idempotency-Key still create one order', async () => {
      const buyerId = uniqueId('no-redis-key');
      const responses = await burst(50, '/api/orders', orderBody(buyerId), { 'Idempotency-Key': uniqueId('key') });
      const orders = await ordersOf(buyerId);
      expect(orders).toHaveLength(1);
      expect(responses.every((r) => r.status === 201 && r.body.orderNo === orders[0])).toBe(true);
    });

    it('30 concurrent pays on one order still open one payment and one vendor trade', async () => {
      const order = (await burst(1, '/api/orders', orderBody(uniqueId('no-redis-pay'))))[0].body;
      gateways.alipay.delayMs = 200;
      const responses = await burst(30, `/api/orders/${order.orderNo}/pay`, { channel: 'alipay' });
      const [payments] = await db.query('SELECT payment_no FROM payments WHERE order_no = ?', [order.orderNo]);
      expect(payments).toHaveLength(1);
      const paymentNo = (payments as { payment_no: string }[])[0].payment_no;
      expect(gateways.alipay.callsFor(paymentNo)).toBe(1);
      for (const r of responses) {
        if (r.status === 200) expect(r.body.paymentNo).toBe(paymentNo);
        else expect(r.body.code).toBe('PAYMENT_STARTING');
      }
    });

    it('health reports Redis down with 503', async () => {
      const health = await http('GET', `${instances[0].url}/health`);
      expect(health.status).toBe(503);
      expect(health.body.details.redis.status).toBe('down');
      expect(health.body.details.database.status).toBe('up');
    });
  });

  it('after Redis comes back the guard works again (in-flight duplicates get 409, not a second order)', async () => {
    const buyerId = uniqueId('redis-back');
    // ioredis reconnects on its own; give it a moment after the restart.
    let response: HttpResult | undefined;
    for (let i = 0; i < 50; i++) {
      response = await http('GET', `${instances[0].url}/health`);
      if (response.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(response?.status).toBe(200);
    const responses = await burst(40, '/api/orders', orderBody(buyerId));
    expect(await ordersOf(buyerId)).toHaveLength(1);
    expect(responses.some((r) => r.status === 409 || r.headers.get('idempotent-replayed') === 'true')).toBe(true);
  });
});
