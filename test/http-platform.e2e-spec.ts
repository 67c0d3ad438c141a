import type { HttpPlatform } from '../src/common/http-platform';
import { MetricsService } from '../src/metrics/metrics.service';
import { fakeGateways } from './support/fake-gateway';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

/**
 * The checkout path answers alike on Express and on Fastify (issue 27: the bench compares the two): request
 * ids, the duplicate-submission guard's replays and 409s, the error envelope from the exception filter with
 * its headers, validation, and the route each request is timed under.
 */
describe.each<HttpPlatform>(['express', 'fastify'])('the checkout path on %s (e2e)', (platform) => {
  const gateways = fakeGateways();
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(Object.values(gateways), new TestClock(), {}, 0, [], platform);
  });

  afterAll(() => app.close());

  beforeEach(() => {
    gateways.wechat.delayMs = 0;
  });

  it('creates and pays an order, keeping the caller request id, and replays a repeated pay', async () => {
    const created = await http('POST', `${app.url}/api/orders`, orderBody(uniqueId('platform')), {
      'X-Request-Id': 'platform-order-1',
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe('platform-order-1');
    const path = `${app.url}/api/orders/${created.body.orderNo}/pay`;

    const paid = await http('POST', path, { channel: 'wechat' });
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe('PAYING');
    expect(paid.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(paid.headers.get('idempotent-replayed')).toBeNull();

    const again = await http('POST', path, { channel: 'wechat' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.paymentNo).toBe(paid.body.paymentNo);
  });

  it('answers a duplicate of a pay still running with 409 and Retry-After', async () => {
    const order = (await http('POST', `${app.url}/api/orders`, orderBody(uniqueId('platform-slow')))).body;
    const path = `${app.url}/api/orders/${order.orderNo}/pay`;
    gateways.wechat.delayMs = 500;
    const first = http('POST', path, { channel: 'wechat' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const duplicate = await http('POST', path, { channel: 'wechat' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect(duplicate.headers.get('retry-after')).toBe('1');
    expect((await first).status).toBe(200);
  });

  it('refuses a missing API key and an invalid body with the error envelope', async () => {
    const anonymous = await http('POST', `${app.url}/api/orders`, orderBody(uniqueId('platform')), {
      authorization: '',
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('UNAUTHENTICATED');
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/json/);

    const invalid = await http('POST', `${app.url}/api/orders`, { buyerId: 1 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('VALIDATION_FAILED');
  });

  it('times each request under its route template, and an unknown path as unmatched', async () => {
    expect((await http('GET', `${app.url}/no-such-path`)).status).toBe(404);
    const text = await app.app
      .get(MetricsService)
      .registry.getSingleMetricAsString('payment_center_http_request_duration_seconds');
    expect(text).toContain('method="POST",route="/api/orders",status_code="201"');
    expect(text).toContain('method="POST",route="/api/orders/:orderNo/pay",status_code="200"');
    expect(text).toContain('method="POST",route="/api/orders/:orderNo/pay",status_code="409"');
    expect(text).toContain('method="GET",route="unmatched",status_code="404"');
  });
});
