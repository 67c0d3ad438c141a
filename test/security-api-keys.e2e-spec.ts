import type { Pool } from 'mysql2/promise';
import { API_SCOPES, type ApiScope } from '../src/applications/api-key-secret';
import { KEY_CACHE_MS } from '../src/applications/api-key.authenticator';
import { API_KEY_BEARER, REQUIRED_SCOPE_EXTENSION } from '../src/common/openapi/api-decorators';
import { waitFor } from './support/amqp';
import { newTestApplication, TEST_APPLICATION_ID, type TestApplication } from './support/api-keys';
import { sqlPool } from './support/database';
import { metricValue } from './support/metrics';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

const run = Date.now().toString(36);
const OPS = {
  name: 'ops-keys',
  token: `ops-keys-${run}-0123456789abcdefghijklmnop`,
  scopes: ['applications:read', 'applications:write'],
};
const READER = { name: 'reader-keys', token: `reader-keys-${run}-0123456789abcdefghijkl`, scopes: ['payments:read'] };
const admin = (token: { token: string }) => ({ authorization: `Bearer ${token.token}` });

interface Operation {
  method: 'GET' | 'POST';
  path: string;
  scope: ApiScope;
}

/**
 * The trust boundary of the business API, played by an attacker against the running app (real MariaDB,
 * Redis, RabbitMQ and the sandbox): no key, a made-up, revoked or expired key, a disabled application,
 * another application's key, a key without the scope. Each refusal changes nothing.
 */
describe('API keys and ownership (security e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let db: Pool;
  let operations: Operation[];
  /** A paid payment of the default test application, with its order, its payment.succeeded and a refund of 100 fen. */
  let victim: { orderNo: string; paymentNo: string; refundNo: string; identityId: string; eventId: string };

  const app = (path: string) => `${running.url}${path}`;

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, { adminTokens: [OPS, READER] });
    db = sqlPool();
    const doc = (await http('GET', app('/docs-json'))).body as {
      paths: Record<string, Record<string, { security?: Record<string, string[]>[]; [k: string]: unknown }>>;
    };
    operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/') && !path.startsWith('/api/admin') && !path.includes('/notify/'))
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => ({
          method: method.toUpperCase() as 'GET' | 'POST',
          path,
          scope: op[REQUIRED_SCOPE_EXTENSION] as ApiScope,
        })),
      );

    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('victim')))).body;
    const payment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' })).body;
    await http('POST', `${sandbox.url}/sandbox/wechat/trades/${payment.paymentNo}/pay`, {});
    await waitFor(
      'victim paid',
      async () => (await http('GET', app(`/api/payments/${payment.paymentNo}`))).body.status === 'PAID',
    );
    const refund = await http('POST', app(`/api/payments/${payment.paymentNo}/refunds`), {
      amountFen: 100,
      reason: 'own refund',
    });
    expect(refund.status).toBe(201);
    await db.query("UPDATE applications SET return_origins = 'https://shop.example' WHERE id = ?", [
      TEST_APPLICATION_ID,
    ]);
    const identity = await http('POST', app('/api/buyer-identities'), {
      channel: 'wechat',
      returnUrl: 'https://shop.example/pay',
    });
    expect(identity.status).toBe(201);
    const [[event]] = (await db.query(
      "SELECT event_id FROM outbox_events WHERE payment_no = ? AND type = 'payment.succeeded'",
      [payment.paymentNo],
    )) as any;
    victim = {
      orderNo: order.orderNo,
      paymentNo: payment.paymentNo,
      refundNo: refund.body.refundNo,
      identityId: identity.body.identityId,
      eventId: event.event_id,
    };
  });

  afterAll(async () => {
    await running?.close();
    await sandbox?.app.close();
    await db?.end();
  });

  /** A concrete URL and body for a documented operation, aimed at the victim's resources. */
  function request(op: Operation): { url: string; body?: unknown } {
    const path = op.path
      .replace('{orderNo}', victim.orderNo)
      .replace('{paymentNo}', victim.paymentNo)
      .replace('{refundNo}', victim.refundNo)
      .replace('{identityId}', victim.identityId)
      .replace('{eventId}', victim.eventId);
    if (op.method === 'GET') return { url: app(path) };
    if (path === '/api/orders') return { url: app(path), body: orderBody(uniqueId('attacker')) };
    if (path.endsWith('/pay')) return { url: app(path), body: { channel: 'alipay' } };
    if (path.endsWith('/refunds')) return { url: app(path), body: { amountFen: 1, reason: 'attack' } };
    if (path.endsWith('/sync') || path.endsWith('/checkout-code')) return { url: app(path) };
    if (path === '/api/buyer-identities') {
      return { url: app(path), body: { channel: 'wechat', returnUrl: 'https://shop.example/pay' } };
    }
    throw new Error(`no request for ${op.method} ${op.path}: add one (a new business route must be covered here)`);
  }

  const send = (op: Operation, authorization: string) => {
    const { url, body } = request(op);
    return http(op.method, url, body, { authorization });
  };

  /** What an attack could have changed: the victim's refunds and payments, and the orders in the database. */
  async function ledger() {
    const [[refunds]] = (await db.query(
      'SELECT COUNT(*) AS n, SUM(amount_fen) AS fen FROM refunds WHERE payment_no = ?',
      [victim.paymentNo],
    )) as any;
    const [[payments]] = (await db.query('SELECT COUNT(*) AS n FROM payments WHERE order_no = ?', [
      victim.orderNo,
    ])) as any;
    const [[orders]] = (await db.query("SELECT COUNT(*) AS n FROM orders WHERE buyer_id LIKE 'attacker-%'")) as any;
    const [[victimOrder]] = (await db.query('SELECT checkout_code FROM orders WHERE order_no = ?', [
      victim.orderNo,
    ])) as any;
    return {
      refunds: Number(refunds.n),
      refundedFen: Number(refunds.fen),
      payments: Number(payments.n),
      orders: Number(orders.n),
      checkoutCode: victimOrder.checkout_code as string | null,
    };
  }

  it('documents every business operation with the API key scheme, a scope, 401 and 403', async () => {
    expect(operations.map((o) => `${o.method} ${o.path}`).sort()).toEqual([
      'GET /api/buyer-identities/{identityId}',
      'GET /api/events',
      'GET /api/events/{eventId}',
      'GET /api/orders/{orderNo}',
      'GET /api/payments/{paymentNo}',
      'GET /api/refunds/{refundNo}',
      'POST /api/buyer-identities',
      'POST /api/orders',
      'POST /api/orders/{orderNo}/checkout-code',
      'POST /api/orders/{orderNo}/pay',
      'POST /api/payments/{paymentNo}/refunds',
      'POST /api/payments/{paymentNo}/sync',
      'POST /api/refunds/{refundNo}/sync',
    ]);
    const doc = (await http('GET', app('/docs-json'))).body;
    for (const op of operations) {
      const documented = doc.paths[op.path][op.method.toLowerCase()];
      expect(documented.security).toEqual([{ [API_KEY_BEARER]: [] }]);
      expect(API_SCOPES).toContain(op.scope);
      expect(Object.keys(documented.responses)).toEqual(expect.arrayContaining(['401', '403']));
    }
    expect(doc.components.securitySchemes[API_KEY_BEARER]).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('refuses every business route without a key, with a made-up or malformed one: 401, nothing written', async () => {
    const before = await ledger();
    const refusedBefore = await metricValue(running.app, 'payment_center_api_key_refusals_total');
    const madeUp = `pcsk_ak_0123456789abcdef_${'ab'.repeat(32)}`;
    for (const op of operations) {
      for (const authorization of [
        '',
        'Bearer',
        `Bearer ${madeUp}`,
        'Basic dXNlcjpwYXNz',
        `Bearer ${'x'.repeat(5000)}`,
      ]) {
        const answer = await send(op, authorization);
        expect({
          op,
          authorization: authorization.slice(0, 20),
          status: answer.status,
          code: answer.body?.code,
        }).toEqual({
          op,
          authorization: authorization.slice(0, 20),
          status: 401,
          code: 'UNAUTHENTICATED',
        });
      }
    }
    expect(await ledger()).toEqual(before);
    expect(await metricValue(running.app, 'payment_center_api_key_refusals_total')).toBe(
      refusedBefore + operations.length * 5,
    );
  });

  it('the refund attack: a stranger who knows a payment number gets 404 and refunds nothing', async () => {
    const stranger = await newTestApplication();
    const before = await ledger();
    const attack = await http(
      'POST',
      app(`/api/payments/${victim.paymentNo}/refunds`),
      { amountFen: 1, reason: 'attack' },
      stranger.headers,
    );
    expect(attack.status).toBe(404);
    expect(attack.body).toEqual({ code: 'PAYMENT_NOT_FOUND', message: `Payment ${victim.paymentNo} does not exist.` });
    // Indistinguishable from a payment that does not exist.
    const none = await http(
      'POST',
      app('/api/payments/pay_doesnotexist/refunds'),
      { amountFen: 1, reason: 'x' },
      stranger.headers,
    );
    expect(none.status).toBe(404);
    expect(await ledger()).toEqual(before);
  });

  it("another application's key gets 404 on every route that names a resource, and changes nothing", async () => {
    const stranger = await newTestApplication();
    const before = await ledger();
    for (const op of operations.filter((o) => o.path.includes('{'))) {
      const answer = await send(op, stranger.headers.authorization);
      expect({ op, status: answer.status }).toEqual({ op, status: 404 });
      expect(answer.body.code).toMatch(/^(ORDER|PAYMENT|REFUND|BUYER_IDENTITY|EVENT)_NOT_FOUND$/);
    }
    // The events list names no resource: the stranger's is its own (empty), and the victim's event is no cursor.
    const feed = await http('GET', app('/api/events?limit=200'), undefined, stranger.headers);
    expect(feed).toMatchObject({ status: 200, body: { data: [], hasMore: false, nextAfter: null } });
    const after = await http('GET', app(`/api/events?after=${victim.eventId}`), undefined, stranger.headers);
    expect(after).toMatchObject({ status: 404, body: { code: 'EVENT_NOT_FOUND' } });
    expect(await ledger()).toEqual(before);
    // The owner still reads its own.
    expect((await http('GET', app(`/api/orders/${victim.orderNo}`))).status).toBe(200);
  });

  it('a key without the scope an operation needs gets 403 and changes nothing; with only that scope it passes the guard', async () => {
    for (const op of operations) {
      const others = API_SCOPES.filter((s) => s !== op.scope);
      const without = await newTestApplication({ scopes: others });
      await db.query('UPDATE api_keys SET application_id = ? WHERE key_id = ?', [TEST_APPLICATION_ID, without.keyId]);
      const before = await ledger();
      const refused = await send(op, without.headers.authorization);
      expect({ op, status: refused.status, body: refused.body }).toEqual({
        op,
        status: 403,
        body: { code: 'FORBIDDEN', message: `This API key lacks the ${op.scope} scope.` },
      });
      expect(await ledger()).toEqual(before);

      const only = await newTestApplication({ scopes: [op.scope] });
      await db.query('UPDATE api_keys SET application_id = ? WHERE key_id = ?', [TEST_APPLICATION_ID, only.keyId]);
      const allowed = await send(op, only.headers.authorization);
      expect({ op, status: allowed.status }).not.toEqual({ op, status: 401 });
      expect(allowed.status).not.toBe(403);
    }
  });

  it('revoked and expired keys, and the keys of a disabled application, are refused', async () => {
    const revoked = await newTestApplication({ revoked: true });
    const expired = await newTestApplication({ expiresAt: new Date(Date.now() - 1000) });
    for (const key of [revoked, expired]) {
      const answer = await http('POST', app('/api/orders'), orderBody(uniqueId('attacker')), key.headers);
      expect(answer.status).toBe(401);
    }
    const disabled = await newTestApplication();
    expect((await http('POST', app('/api/orders'), orderBody(uniqueId('live')), disabled.headers)).status).toBe(201);
    await db.query("UPDATE applications SET status = 'DISABLED' WHERE id = ?", [disabled.applicationId]);
    // Another instance's change reaches this one within KEY_CACHE_MS.
    await new Promise((resolve) => setTimeout(resolve, KEY_CACHE_MS + 100));
    expect((await http('POST', app('/api/orders'), orderBody(uniqueId('attacker')), disabled.headers)).status).toBe(
      401,
    );
  });

  it('idempotency keys are per application: the same key and body from two applications make two orders', async () => {
    const [a, b] = [await newTestApplication(), await newTestApplication()];
    const body = orderBody(uniqueId('shared'));
    const headers = (key: TestApplication) => ({ ...key.headers, 'Idempotency-Key': `shared-${run}` });
    const first = await http('POST', app('/api/orders'), body, headers(a));
    const second = await http('POST', app('/api/orders'), body, headers(b));
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(second.body.orderNo).not.toBe(first.body.orderNo);
    // Each still replays its own.
    const again = await http('POST', app('/api/orders'), body, headers(b));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.orderNo).toBe(second.body.orderNo);
    // Without an Idempotency-Key the derived key (a hash of the body) is per application too.
    const derived = orderBody(uniqueId('derived'));
    const [x, y] = await Promise.all([
      http('POST', app('/api/orders'), derived, a.headers),
      http('POST', app('/api/orders'), derived, b.headers),
    ]);
    expect([x.status, y.status]).toEqual([201, 201]);
    expect(x.body.orderNo).not.toBe(y.body.orderNo);
  });

  describe('admin API for applications and keys', () => {
    it('creates an application and a key whose secret is shown once, works, and is stored only as a hash', async () => {
      const created = await http('POST', app('/api/admin/applications'), { name: `Tea shop ${run}` }, admin(OPS));
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: `Tea shop ${run}`, status: 'ACTIVE', keys: [] });
      const appId = created.body.id as string;
      const key = await http(
        'POST',
        app(`/api/admin/applications/${appId}/keys`),
        { scopes: ['orders:write', 'orders:read'] },
        admin(OPS),
      );
      expect(key.status).toBe(201);
      const secret = key.body.secret as string;
      expect(secret).toMatch(/^pcsk_ak_[0-9a-f]{16}_[0-9a-f]{64}$/);
      const order = await http('POST', app('/api/orders'), orderBody(uniqueId('shop')), {
        authorization: `Bearer ${secret}`,
      });
      expect(order.status).toBe(201);
      const [[row]] = (await db.query('SELECT application_id FROM orders WHERE order_no = ?', [
        order.body.orderNo,
      ])) as any;
      expect(row.application_id).toBe(appId);

      const listed = await http('GET', app(`/api/admin/applications/${appId}`), undefined, admin(OPS));
      expect(JSON.stringify(listed.body)).not.toContain(secret.slice(-64));
      const [[stored]] = (await db.query('SELECT * FROM api_keys WHERE key_id = ?', [key.body.key.keyId])) as any;
      expect(JSON.stringify(stored)).not.toContain(secret.slice(-64));
      await waitFor('last use recorded', async () => {
        const [[used]] = (await db.query('SELECT last_used_at FROM api_keys WHERE key_id = ?', [
          key.body.key.keyId,
        ])) as any;
        return used.last_used_at !== null;
      });
      const [audit] = (await db.query('SELECT action, target FROM admin_audit WHERE target LIKE ? ORDER BY id', [
        `%${appId}%`,
      ])) as any;
      expect(audit.map((a: { action: string }) => a.action)).toEqual(['application.create', 'api_key.create']);
      expect(JSON.stringify(audit)).not.toContain(secret.slice(-64));
    });

    it('rotation: two keys work at once; a revoked key is refused at once, the other goes on', async () => {
      const appId = (await http('POST', app('/api/admin/applications'), { name: `rotate ${run}` }, admin(OPS))).body.id;
      const newKey = async () =>
        (await http('POST', app(`/api/admin/applications/${appId}/keys`), {}, admin(OPS))).body;
      const [old, next] = [await newKey(), await newKey()];
      const create = (secret: string) =>
        http('POST', app('/api/orders'), orderBody(uniqueId('rot')), { authorization: `Bearer ${secret}` });
      expect([(await create(old.secret)).status, (await create(next.secret)).status]).toEqual([201, 201]);
      const revoked = await http(
        'POST',
        app(`/api/admin/applications/${appId}/keys/${old.key.keyId}/revoke`),
        {},
        admin(OPS),
      );
      expect(revoked.status).toBe(200);
      expect(revoked.body.revokedAt).not.toBeNull();
      expect((await create(old.secret)).status).toBe(401);
      expect((await create(next.secret)).status).toBe(201);
      // Disabling the application refuses every key at once.
      const disabled = await http(
        'POST',
        app(`/api/admin/applications/${appId}/status`),
        { status: 'DISABLED' },
        admin(OPS),
      );
      expect(disabled.body.status).toBe('DISABLED');
      expect((await create(next.secret)).status).toBe(401);
    });

    it('refuses bad input, unknown ids, and operators without the applications scopes', async () => {
      const bad = await http('POST', app('/api/admin/applications'), { name: 'x\u202Eevil' }, admin(OPS));
      expect(bad.status).toBe(400);
      const noScope = await http('POST', app('/api/admin/applications'), { name: 'n' }, admin(READER));
      expect(noScope.status).toBe(403);
      const anonymous = await http('GET', app('/api/admin/applications'), undefined, { authorization: '' });
      expect(anonymous.status).toBe(401);
      const unknown = await http('POST', app('/api/admin/applications/app_0000000000000000/keys'), {}, admin(OPS));
      expect(unknown).toMatchObject({ status: 404, body: { code: 'APPLICATION_NOT_FOUND' } });
      const badScope = await http(
        'POST',
        app(`/api/admin/applications/app_0000000000000000/keys`),
        { scopes: ['admin'] },
        admin(OPS),
      );
      expect(badScope.status).toBe(400);
      const past = (await http('POST', app('/api/admin/applications'), { name: `past ${run}` }, admin(OPS))).body.id;
      const expired = await http(
        'POST',
        app(`/api/admin/applications/${past}/keys`),
        { expiresAt: '2020-01-01T00:00:00Z' },
        admin(OPS),
      );
      expect(expired).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    });
  });
});
