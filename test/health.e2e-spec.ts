import { sqlPool } from './support/database';
import { http, type RunningApp, startApp } from './support/test-app';

describe('GET /health (e2e)', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp([]);
  });

  afterAll(() => running.close());

  it('reports MariaDB, Redis and RabbitMQ reachable', async () => {
    const response = await http('GET', `${running.url}/health`);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ok');
    expect(response.body.details).toMatchObject({
      database: { status: 'up' },
      redis: { status: 'up' },
      rabbitmq: { status: 'up' },
    });
  });

  it('with no gateway configured, paying answers 503 CHANNEL_UNAVAILABLE and writes nothing', async () => {
    const order = await http('POST', `${running.url}/api/orders`, {
      buyerId: `no-gateway-${Date.now()}`,
      items: [{ sku: 'A', name: 'A', quantity: 1, unitPriceFen: 100 }],
    });
    const pay = await http('POST', `${running.url}/api/orders/${order.body.orderNo}/pay`, { channel: 'wechat' });
    expect(pay.status).toBe(503);
    expect(pay.body.code).toBe('CHANNEL_UNAVAILABLE');
    const read = await http('GET', `${running.url}/api/orders/${order.body.orderNo}`);
    expect(read.body).toMatchObject({ status: 'CREATED', payments: [] });
    const db = sqlPool();
    try {
      const [intents] = await db.query('SELECT id FROM payment_intents WHERE order_no = ?', [order.body.orderNo]);
      expect(intents).toEqual([]);
    } finally {
      await db.end();
    }
  });
});
