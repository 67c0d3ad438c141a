import { createHmac, randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { AdminAuditLog } from '../src/admin/auth/admin-audit-log';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { http, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const { verifyPaymentEvent } = createRequire(join(process.cwd(), 'package.json'))(
  './examples/partner-consumer/verify.js',
) as {
  verifyPaymentEvent: (header: unknown, body: Buffer, keys: { keyId: string; secret: string }[]) => boolean;
};

const run = Date.now().toString(36);
const OPS = {
  name: 'ops-hardening',
  token: `ops-${run}-0123456789abcdefghijkl`,
  scopes: ['payments:read', 'payments:resolve', 'deliveries:read', 'queues:read'],
};
const METRICS_TOKEN = `metrics-${run}-0123456789abcdef`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** TCP connections this process opens to RabbitMQ while `work` runs (Node's net.client.socket channel). */
async function brokerSocketsOpenedDuring(work: () => Promise<void>): Promise<number> {
  let opened = 0;
  const onSocket = (message: unknown) => {
    const { socket } = message as { socket: Socket };
    socket.once('connect', () => {
      if (socket.remotePort === 5672) opened += 1;
    });
  };
  subscribe('net.client.socket', onSocket);
  try {
    await work();
    await sleep(50); // a connect still in flight counts too
  } finally {
    unsubscribe('net.client.socket', onSocket);
  }
  return opened;
}

/**
 * Issue 20 part 3, the hardening items, played against the real app over HTTP with MariaDB, Redis and
 * RabbitMQ: text fields counted in code points and cleaned of control/bidi characters, /health.
 */
describe('Security hardening (e2e)', () => {
  let running: RunningApp;
  let db: Pool;
  const url = (path: string) => `${running.url}${path}`;
  const rows = async <T>(sql: string, params: unknown[]) => (await db.query(sql, params))[0] as T[];

  beforeAll(async () => {
    running = await startApp([], new TestClock(), {
      adminTokens: [OPS],
      metrics: { token: METRICS_TOKEN, dbCacheMs: 1000 },
    });
    db = sqlPool();
  });

  afterAll(async () => {
    await running?.close();
    await db?.end();
  });

  describe('text fields', () => {
    const item = { sku: 'TEA-001', name: 'Longjing tea 250g', quantity: 1, unitPriceFen: 100 };
    // 64 characters to class-validator's Length (it does not count U+FE0F), 128 code points to MariaDB.
    const sixtyFourLooking = 'a\uFE0F'.repeat(64);

    async function refused(body: Record<string, unknown>, field: string, buyerId: string) {
      const response = await http('POST', url('/api/orders'), body);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.details).toEqual([{ field, messages: [expect.any(String)] }]);
      expect(await rows('SELECT order_no FROM orders WHERE buyer_id = ?', [buyerId])).toEqual([]);
      return response.body.details[0].messages[0] as string;
    }

    it('a sku of 64 × "a\\uFE0F" (128 code points) is refused naming the field, and no order is written', async () => {
      const buyerId = uniqueId('sku-fe0f');
      const message = await refused({ buyerId, items: [{ ...item, sku: sixtyFourLooking }] }, 'items.0.sku', buyerId);
      expect(message).toBe('sku must be 1-64 characters long (Unicode code points)');
    });

    it('a name of 128 × "a\\uFE0F" is refused the same way (VARCHAR(128))', async () => {
      const buyerId = uniqueId('name-fe0f');
      await refused({ buyerId, items: [{ ...item, name: 'a\uFE0F'.repeat(128) }] }, 'items.0.name', buyerId);
    });

    it('a buyerId of 64 × "a\\uFE0F" is refused', async () => {
      const response = await http('POST', url('/api/orders'), { buyerId: sixtyFourLooking, items: [item] });
      expect(response.status).toBe(400);
      expect(response.body.details.map((d: { field: string }) => d.field)).toEqual(['buyerId']);
      expect(await rows('SELECT order_no FROM orders WHERE buyer_id = ?', [sixtyFourLooking])).toEqual([]);
    });

    it('a name with a right-to-left override is refused; 64 emoji (128 UTF-16 units) still fit a sku', async () => {
      const buyerId = uniqueId('bidi');
      const message = await refused(
        { buyerId, items: [{ ...item, name: 'Longjing tea \u202E052 g' }] },
        'items.0.name',
        buyerId,
      );
      expect(message).toBe('name must not contain control characters or bidirectional formatting characters');
      await refused({ buyerId, items: [{ ...item, sku: 'TEA\u0000001' }] }, 'items.0.sku', buyerId);

      const fits = await http('POST', url('/api/orders'), { buyerId, items: [{ ...item, sku: '🍵'.repeat(64) }] });
      expect(fits.status).toBe(201);
      expect(fits.body.items[0].sku).toBe('🍵'.repeat(64));
    });

    it('a refund reason and an operator reason with a bidi control are refused before anything is looked up', async () => {
      const refund = await http('POST', url('/api/payments/P0000000000000000000000000000/refunds'), {
        amountFen: 100,
        reason: 'returned \u2067goods\u2069',
      });
      expect(refund.status).toBe(400);
      expect(refund.body.details).toEqual([{ field: 'reason', messages: [expect.stringContaining('bidirectional')] }]);
      // The same body without the isolates gets as far as looking the payment up.
      const plain = await http('POST', url('/api/payments/P0000000000000000000000000000/refunds'), {
        amountFen: 100,
        reason: 'returned goods',
      });
      expect(plain.body.code).toBe('PAYMENT_NOT_FOUND');

      const resolve = await http(
        'POST',
        url('/api/admin/payments/P0000000000000000000000000000/resolve'),
        { action: 'requery', reason: 'ticket OPS-1\u202E' },
        bearer(OPS.token),
      );
      expect(resolve.status).toBe(400);
      expect(resolve.body.details[0].field).toBe('reason');
    });
  });

  describe('/health', () => {
    it('many probes share one check and open no broker connection: 50 at once, then one every 1.1 s', async () => {
      expect((await http('GET', url('/health'))).status).toBe(200); // the app's own link is up from here on
      await sleep(1100);
      let burst: { status: number; body: { checkedAt: string } }[] = [];
      const opened = await brokerSocketsOpenedDuring(async () => {
        burst = await Promise.all(Array.from({ length: 50 }, () => http('GET', url('/health'))));
        for (let i = 0; i < 3; i++) {
          await sleep(1100);
          expect((await http('GET', url('/health'))).status).toBe(200);
        }
      });
      expect(opened).toBe(0);
      expect(burst.every((r) => r.status === 200)).toBe(true);
      expect(new Set(burst.map((r) => r.body.checkedAt)).size).toBe(1);
    });

    it('a component down: anyone sees which, only the METRICS_TOKEN holder sees the host and port', async () => {
      const broken = await startApp([], new TestClock(), {
        rabbitmqUrls: ['amqp://guest:guest@127.0.0.1:1'],
        metrics: { token: METRICS_TOKEN, dbCacheMs: 1000 },
        relay: { enabled: false, pollIntervalMs: 200, publishTimeoutMs: 1000, batchSize: 50, claimLeaseMs: 30_000 },
      });
      try {
        const anonymous = await http('GET', `${broken.url}/health`);
        expect(anonymous.status).toBe(503);
        expect(anonymous.body).toMatchObject({
          status: 'error',
          error: { rabbitmq: { status: 'down' } },
          details: { database: { status: 'up' }, redis: { status: 'up' }, rabbitmq: { status: 'down' } },
        });
        expect(JSON.stringify(anonymous.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|:1\b|message/);
        const wrongToken = await http('GET', `${broken.url}/health`, undefined, bearer(`${METRICS_TOKEN}x`));
        expect(JSON.stringify(wrongToken.body)).not.toMatch(/127\.0\.0\.1/);
        // The monitoring's token reads why (the answer is the cached one: the same check).
        const monitor = await http('GET', `${broken.url}/health`, undefined, bearer(METRICS_TOKEN));
        expect(monitor.status).toBe(503);
        expect(monitor.body.checkedAt).toBe(anonymous.body.checkedAt);
        expect(monitor.body.details.rabbitmq.message).toContain('127.0.0.1:1');
      } finally {
        await broken.close();
      }
    });
  });

  describe("the queue board's session cookie", () => {
    const signIn = (base: string, headers: Record<string, string> = {}) =>
      http('POST', `${base}/api/admin/session`, undefined, { ...bearer(OPS.token), ...headers });
    const cookieOf = (response: { headers: Headers }) => response.headers.get('set-cookie') ?? '';

    it('in production it is Secure even over plain HTTP (a proxy left out of TRUST_PROXY)', async () => {
      const production = await startApp([], new TestClock(), { adminTokens: [OPS], production: true });
      try {
        const response = await signIn(production.url);
        expect(response.status).toBe(200);
        expect(cookieOf(response)).toMatch(/^pc_queue_board=[^;]+; .*; Secure$/);
        const signOut = await fetch(`${production.url}/api/admin/session`, {
          method: 'DELETE',
          headers: bearer(OPS.token),
        });
        expect(signOut.headers.get('set-cookie')).toMatch(/Max-Age=0;.*; Secure$/);
      } finally {
        await production.close();
      }
    });

    it('behind a TLS-terminating proxy named in TRUST_PROXY, X-Forwarded-Proto: https makes it Secure', async () => {
      const proxied = await startApp([], new TestClock(), { adminTokens: [OPS], trustProxy: ['loopback'] });
      try {
        expect(cookieOf(await signIn(proxied.url, { 'x-forwarded-proto': 'https' }))).toMatch(/; Secure$/);
        // The proxy's plain-HTTP request in development: not Secure, so http://localhost keeps working.
        expect(cookieOf(await signIn(proxied.url))).not.toContain('Secure');
      } finally {
        await proxied.close();
      }
    });

    it('without TRUST_PROXY a client cannot claim HTTPS or another address with X-Forwarded headers', async () => {
      const response = await signIn(running.url, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' });
      expect(response.status).toBe(200);
      expect(cookieOf(response)).not.toContain('Secure');
    });
  });

  describe('admin audit', () => {
    let proxied: RunningApp;
    /** A documentation-range IPv6 address of its own per test, so no other run's failures share its window. */
    const freshIp = () => `2001:db8::${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
    const failedRows = (ip: string) =>
      rows<{ actor: string; target: string }>(
        "SELECT actor, target FROM admin_audit WHERE action = 'admin.sign_in.failed' AND JSON_VALUE(target, '$.ip') = ?",
        [ip],
      );

    beforeAll(async () => {
      // Behind a proxy on loopback, as in production: the audited address is the client's, from X-Forwarded-For.
      proxied = await startApp([], new TestClock(), { adminTokens: [OPS], trustProxy: ['loopback'] });
    });

    afterAll(() => proxied?.close());

    it('a wrong token at the console sign-in and the admin API is audited once a minute per address, without the token', async () => {
      const ip = freshIp();
      const guesses = Array.from({ length: 6 }, (_, i) => `guess-${run}-${i}-0123456789abcdef`);
      for (const [i, guess] of guesses.entries()) {
        const path = i % 2 === 0 ? '/api/admin/session' : '/api/admin/payments';
        const response = await http(i % 2 === 0 ? 'POST' : 'GET', `${proxied.url}${path}`, undefined, {
          ...bearer(guess),
          'x-forwarded-for': ip,
          'user-agent': 'guesser/1.0',
        });
        expect(response.status).toBe(401);
      }
      await waitFor('the audit row', async () => (await failedRows(ip)).length > 0, 5000);
      await sleep(300); // any later (wrong) rows would be written by now
      const audited = await failedRows(ip);
      expect(audited).toHaveLength(1);
      expect(audited[0].actor).toBe('anonymous');
      expect(JSON.parse(audited[0].target)).toEqual({
        ip,
        method: 'POST',
        path: '/api/admin/session',
        reason: 'unknown_token',
        userAgent: 'guesser/1.0',
      });
      for (const guess of guesses) expect(audited[0].target).not.toContain(guess);

      // Another address gets its own row; a request with no credentials at all is not a sign-in.
      const other = freshIp();
      await http('GET', `${proxied.url}/admin/queues/api/queues`, undefined, {
        ...bearer(guesses[0]),
        'x-forwarded-for': other,
      });
      await http('GET', `${proxied.url}/api/admin/payments`, undefined, { 'x-forwarded-for': freshIp() });
      await waitFor('the second audit row', async () => (await failedRows(other)).length > 0, 5000);
      expect(JSON.parse((await failedRows(other))[0].target)).toMatchObject({ path: '/admin/queues/api/queues' });

      const metrics = await http('GET', `${proxied.url}/metrics`);
      expect(metrics.body).toMatch(/payment_center_admin_auth_failures_total\{reason="unknown_token"\} 7/);
    });

    it("AdminAuditLog.record in the action's transaction commits and rolls back with it", async () => {
      const audit = proxied.app.get(AdminAuditLog, { strict: false });
      const dataSource = proxied.app.get(DataSource);
      // Typed loosely so the old (four-argument) signature compiles and this test can show what it did.
      const record = audit.record.bind(audit) as (...args: unknown[]) => Promise<void>;
      const marker = uniqueId('audit-tx');
      const ofMarker = () =>
        rows('SELECT action FROM admin_audit WHERE JSON_VALUE(target, "$.marker") = ? ORDER BY id', [marker]);

      await expect(
        dataSource.transaction(async (manager) => {
          await record('ops-hardening', 'test.rolled_back', { marker }, 1, manager);
          throw new Error('the action failed');
        }),
      ).rejects.toThrow('the action failed');
      expect(await ofMarker()).toEqual([]);

      await dataSource.transaction(async (manager) => {
        await record('ops-hardening', 'test.committed', { marker }, 1, manager);
        expect(await ofMarker()).toEqual([]); // not visible outside before the action commits
      });
      expect(await ofMarker()).toEqual([{ action: 'test.committed' }]);
    });
  });

  describe("the example partner's verify.js", () => {
    const body = Buffer.from('{"eventId":"e1"}');
    const now = Math.floor(Date.now() / 1000);
    const signed = (keyId: string, secret: string) =>
      `t=${now},${keyId}=${createHmac('sha256', secret).update(`${now}.`).update(body).digest('hex')}`;

    it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
      'a key id %s that the header does not carry is a failed check, not an exception',
      (keyId) => {
        const header = signed('shop-k1', 'secret-0123456789abcdef');
        expect(() => verifyPaymentEvent(header, body, [{ keyId, secret: 'x' }])).not.toThrow();
        expect(verifyPaymentEvent(header, body, [{ keyId, secret: 'x' }])).toBe(false);
        // A header that names it (a forged or odd one) does not throw or verify either.
        const odd = `${header},${keyId}=zz`;
        expect(verifyPaymentEvent(odd, body, [{ keyId, secret: 'x' }])).toBe(false);
      },
    );

    it('still verifies a good signature, also under an odd key id, and refuses a non-hex one', () => {
      expect(verifyPaymentEvent(signed('shop-k1', 'secret-a'), body, [{ keyId: 'shop-k1', secret: 'secret-a' }])).toBe(
        true,
      );
      expect(
        verifyPaymentEvent(signed('toString', 'secret-a'), body, [{ keyId: 'toString', secret: 'secret-a' }]),
      ).toBe(true);
      const nonHex = signed('shop-k1', 'secret-a').replace('shop-k1=', 'shop-k1=zz');
      expect(verifyPaymentEvent(nonHex, body, [{ keyId: 'shop-k1', secret: 'secret-a' }])).toBe(false);
    });
  });
});
