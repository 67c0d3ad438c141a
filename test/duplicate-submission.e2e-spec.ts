import { connect, createServer, type Socket } from 'node:net';
import type { Pool } from 'mysql2/promise';
import {
  ALONGSIDE_WAIT_MS,
  DuplicateSubmissionInterceptor,
  RELOOK_MS,
} from '../src/idempotency/duplicate-submission.interceptor';
import { sqlPool, testDatabase } from './support/database';
import { FakeGateway, fakeGateways } from './support/fake-gateway';
import { metricValue } from './support/metrics';
import { flushRedis, startRedis, stopRedis } from './support/services';
import { http, type HttpResult, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const DUPLICATES = 'payment_center_duplicate_submissions_total';

/**
 * A TCP proxy in front of the test Redis that holds every chunk an app sends for `delayMs` before passing
 * it on (answers come back at once): a slow or backlogged link between one app instance and Redis.
 */
async function slowRedisLink(delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('error', drop).on('close', drop);
    client.on('data', (chunk) =>
      setTimeout(() => {
        if (!upstream.destroyed) upstream.write(chunk);
      }, delayMs),
    );
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(target.href);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.href,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

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

  /** Duplicates caught so far by each way, summed over the instances. */
  async function caught(): Promise<Record<'redis_replay' | 'in_flight' | 'database', number>> {
    const sum = async (caughtBy: string) =>
      (await Promise.all(instances.map((i) => metricValue(i.app, DUPLICATES, { caught_by: caughtBy })))).reduce(
        (a, b) => a + b,
        0,
      );
    return {
      redis_replay: await sum('redis_replay'),
      in_flight: await sum('in_flight'),
      database: await sum('database'),
    };
  }

  /**
   * Every answer is the original 201, a replay of it, or a 409 "still in flight"; and Redis caught every
   * duplicate (`before`: caught() taken before the burst), none reached the database.
   */
  async function expectOneOrderAnswers(
    responses: HttpResult[],
    orderNo: string,
    before: Awaited<ReturnType<typeof caught>>,
  ) {
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
    const after = await caught();
    expect(after.database - before.database).toBe(0);
    expect(after.redis_replay - before.redis_replay).toBe(responses.filter((r) => r.status === 201).length - 1);
    expect(after.in_flight - before.in_flight).toBe(responses.filter((r) => r.status === 409).length);
  }

  it('100 concurrent identical order submissions (no key: derived hash) create exactly one order', async () => {
    const buyerId = uniqueId('double-click');
    const before = await caught();
    const responses = await burst(100, '/api/orders', orderBody(buyerId));
    const orders = await ordersOf(buyerId);
    expect(orders).toHaveLength(1);
    await expectOneOrderAnswers(responses, orders[0], before);
  });

  it('100 concurrent submissions with the same Idempotency-Key create exactly one order', async () => {
    const buyerId = uniqueId('keyed');
    const key = uniqueId('key');
    const before = await caught();
    const responses = await burst(100, '/api/orders', orderBody(buyerId), { 'Idempotency-Key': key });
    const orders = await ordersOf(buyerId);
    expect(orders).toHaveLength(1);
    await expectOneOrderAnswers(responses, orders[0], before);

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

  it('a duplicate of a request that is still running looks again after RELOOK_MS, then gets 409', async () => {
    const order = (await http('POST', `${instances[0].url}/api/orders`, orderBody(uniqueId('slow-pay')))).body;
    const path = `/api/orders/${order.orderNo}/pay`;
    gateways.wechat.delayMs = 800;
    const before = await caught();
    const first = http('POST', `${instances[0].url}${path}`, { channel: 'wechat' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const durations: number[] = [];
    for (let i = 0; i < 2; i++) {
      const sentAt = performance.now();
      const duplicate = await http('POST', `${instances[1].url}${path}`, { channel: 'wechat' });
      durations.push(performance.now() - sentAt);
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    }
    expect((await first).status).toBe(200);
    // The second duplicate, with the route warm: a Redis answer takes well under a millisecond here.
    expect(durations[1]).toBeGreaterThanOrEqual(RELOOK_MS - 1);
    expect((await caught()).in_flight - before.in_flight).toBe(2);
  });

  /**
   * The write after the handler (store the response, release the key) is sent before the answer but not
   * waited for. Here it reaches Redis 20 ms late (a slow link from a third instance), so a retry sent the
   * moment the answer arrives, through another instance, finds the key still in flight: it must look again
   * rather than answer 409.
   */
  describe('a retry sent on receipt of the answer, racing the write that follows it to Redis', () => {
    const LINK_DELAY_MS = 20;
    /** The slow instance refuses orders above this total (400); the others take them. */
    const SLOW_MAX_FEN = 5000;
    let link: Awaited<ReturnType<typeof slowRedisLink>>;
    let slow: RunningApp;

    beforeAll(async () => {
      expect(LINK_DELAY_MS).toBeLessThan(RELOOK_MS / 2);
      link = await slowRedisLink(LINK_DELAY_MS);
      const silentWechat = new FakeGateway('wechat');
      silentWechat.behaviour = 'unknown';
      slow = await startApp([silentWechat, gateways.alipay, gateways.unionpay], new TestClock(), {
        redisUrl: link.url,
        orders: { maxAmountFen: SLOW_MAX_FEN },
      });
    });

    afterAll(async () => {
      await slow.close();
      await link.close();
    });

    it('is replayed, for 30 orders at once', async () => {
      const before = await caught();
      const pairs = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const body = orderBody(uniqueId('race'));
          const headers = { 'Idempotency-Key': uniqueId('race-key') };
          const first = await http('POST', `${slow.url}/api/orders`, body, headers);
          const retry = await http('POST', `${instances[i % 2].url}/api/orders`, body, headers);
          return { first, retry };
        }),
      );
      for (const { first, retry } of pairs) {
        expect(first.status).toBe(201);
        expect(first.headers.get('idempotent-replayed')).toBeNull();
        expect(retry.status).toBe(201);
        expect(retry.headers.get('idempotent-replayed')).toBe('true');
        expect(retry.body).toEqual(first.body);
      }
      const after = await caught();
      expect(after.redis_replay - before.redis_replay).toBe(30);
      expect(after.in_flight - before.in_flight).toBe(0);
      expect(after.database - before.database).toBe(0);
    });

    it('an order its first instance refused: the retry finds the key in flight, looks again, finds it released and creates the order, for 10 orders at once', async () => {
      const before = await caught();
      // Every second look, counted where it happens (the instances share the class).
      const guard = DuplicateSubmissionInterceptor.prototype as unknown as {
        lookAgain: (this: unknown, ...args: unknown[]) => Promise<unknown>;
      };
      const lookAgain = guard.lookAgain;
      let looks = 0;
      guard.lookAgain = function (...args) {
        looks += 1;
        return lookAgain.apply(this, args);
      };
      const results = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const body = orderBody(uniqueId('race-400'), 1250, 8); // 10,000 fen: over the slow instance's limit
          const headers = { 'Idempotency-Key': uniqueId('race-400-key') };
          const refused = await http('POST', `${slow.url}/api/orders`, body, headers);
          const retry = await http('POST', `${instances[i % 2].url}/api/orders`, body, headers);
          return { refused, retry, buyerId: body.buyerId };
        }),
      ).finally(() => {
        guard.lookAgain = lookAgain;
      });
      for (const { refused, retry, buyerId } of results) {
        expect(refused.status).toBe(400);
        expect(retry.status).toBe(201);
        expect(retry.headers.get('idempotent-replayed')).toBeNull();
        expect(retry.body).toMatchObject({ amountFen: 10_000, status: 'CREATED' });
        const [rows] = await db.query('SELECT order_no FROM orders WHERE buyer_id = ?', [buyerId]);
        expect(rows).toEqual([{ order_no: retry.body.orderNo }]);
      }
      // The release reached Redis LINK_DELAY_MS after the refusal: most retries found the key in flight and
      // looked again (one that lost the race to the release claimed it at once), and none was answered 409.
      expect(looks).toBeGreaterThanOrEqual(5);
      const after = await caught();
      expect(after.in_flight - before.in_flight).toBe(0);
      expect(after.redis_replay - before.redis_replay).toBe(0);
    });

    it('after a failure, finds the key released and runs, for 10 payments at once', async () => {
      const pairs = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const order = (await http('POST', `${slow.url}/api/orders`, orderBody(uniqueId('race-5xx')))).body;
          const headers = { 'Idempotency-Key': uniqueId('race-5xx-key') };
          const path = `/api/orders/${order.orderNo}/pay`;
          // The slow instance's vendor gives no answer; the other instances' vendor creates the trade.
          const failed = await http('POST', `${slow.url}${path}`, { channel: 'wechat' }, headers);
          const retry = await http('POST', `${instances[i % 2].url}${path}`, { channel: 'wechat' }, headers);
          return { failed, retry };
        }),
      );
      for (const { failed, retry } of pairs) {
        expect(failed.status).toBe(503);
        expect(retry.status).toBe(200);
        expect(retry.headers.get('idempotent-replayed')).toBeNull();
        expect(retry.body.paymentNo).toBe(failed.body.details.paymentNo);
      }
    });
  });

  it('an order refused with 400 releases its key: the client fixes the basket and the same key creates it', async () => {
    const key = uniqueId('fixed-basket');
    const buyerId = uniqueId('fixed-basket');
    const tooMuch = { buyerId, items: [{ sku: 'GOLD-1', name: 'Gold bar', quantity: 1000, unitPriceFen: 1e9 }] };
    const refused = await http('POST', `${instances[0].url}/api/orders`, tooMuch, { 'Idempotency-Key': key });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('VALIDATION_FAILED');
    const again = await http('POST', `${instances[1].url}/api/orders`, tooMuch, { 'Idempotency-Key': key });
    expect(again.status).toBe(400); // run again (not a 409 or a replay): the refusal released the key
    const fixed = await http('POST', `${instances[1].url}/api/orders`, orderBody(buyerId), { 'Idempotency-Key': key });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
    expect(await ordersOf(buyerId)).toEqual([fixed.body.orderNo]);
  });

  it('a stalled Redis does not hold order transactions open: other requests still get database connections', async () => {
    // Two database connections, both taken by order creations whose claims are held 900 ms on the way to
    // Redis: the creations go on after ALONGSIDE_WAIT_MS (the key column decides), so a read needing a
    // connection is served long before the claims' answers come back.
    const STALL_MS = 900;
    expect(ALONGSIDE_WAIT_MS).toBeLessThan(STALL_MS / 3);
    const link = await slowRedisLink(STALL_MS);
    const stalled = await startApp(Object.values(gateways), new TestClock(), {
      redisUrl: link.url,
      database: { ...testDatabase(), poolSize: 2 },
    });
    try {
      const existing = (await http('POST', `${instances[0].url}/api/orders`, orderBody(uniqueId('stall-read')))).body;
      const buyers = [uniqueId('stall'), uniqueId('stall')];
      const creating = buyers.map((buyerId) => http('POST', `${stalled.url}/api/orders`, orderBody(buyerId)));
      await new Promise((resolve) => setTimeout(resolve, 30));
      const started = performance.now();
      const read = await http('GET', `${stalled.url}/api/orders/${existing.orderNo}`);
      const readMs = performance.now() - started;
      expect(read.status).toBe(200);
      expect(readMs).toBeLessThan(STALL_MS / 2);
      for (const created of await Promise.all(creating)) expect(created.status).toBe(201);
      for (const buyerId of buyers) expect(await ordersOf(buyerId)).toHaveLength(1);
    } finally {
      await stalled.close();
      await link.close();
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

    it('the same basket again after the window, 40 copies at once: the expired key is freed once, one new order', async () => {
      const buyerId = uniqueId('no-redis-window');
      const [first] = await burst(1, '/api/orders', orderBody(buyerId));
      expect(first.status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 2100)); // IDEMPOTENCY_DERIVED_TTL_SECONDS=2 in tests
      const responses = await burst(40, '/api/orders', orderBody(buyerId));
      const orders = await ordersOf(buyerId);
      expect(orders).toHaveLength(2);
      const second = orders.find((orderNo) => orderNo !== first.body.orderNo);
      for (const response of responses) {
        expect(response.status).toBe(201);
        expect(response.body.orderNo).toBe(second);
      }
      expect(responses.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
      // The key now names the new order only.
      const [holders] = await db.query(
        'SELECT order_no FROM orders WHERE buyer_id = ? AND idempotency_key IS NOT NULL',
        [buyerId],
      );
      expect(holders).toEqual([{ order_no: second }]);
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
