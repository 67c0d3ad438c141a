import { createServer, type Server, type Socket } from 'node:net';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import type { Pool } from 'mysql2/promise';
import { AmqpProbe, AMQP_URL, waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { http, orderBody, paymentState, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const partner = testPartners('ha');
const WATCHER = partner('watcher');
const ORDERS = partner('orders');

/** Nothing listens there: a node that is down (connection refused). */
const REFUSED_NODE = 'amqp://guest:guest@127.0.0.1:1';

/**
 * A node that accepts the TCP connection and drops it before the AMQP handshake (a node going down, or a
 * load balancer in front of a dead one), counting the connections: the proof that the app tried it.
 */
async function droppingNode(): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const live = new URL(AMQP_URL);
  return {
    url: `amqp://${live.username}:${live.password}@127.0.0.1:${port}${live.pathname}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * RABBITMQ_URL as the nodes of a cluster: the app's own link (topology, relay) and the Orders consumer (Nest's
 * RMQ transport) each go down the list until a node answers. Here the first two nodes are down and the third is
 * the machine's broker: events are relayed and consumed all the same.
 */
describe('RabbitMQ node list: dead nodes first (e2e)', () => {
  const gateways = fakeGateways(['wechat']);
  let dropping: Awaited<ReturnType<typeof droppingNode>>;
  let running: RunningApp;
  let probe: AmqpProbe;
  let db: Pool;

  beforeAll(async () => {
    db = sqlPool();
    dropping = await droppingNode();
    running = await startApp(Object.values(gateways), new TestClock(), {
      rabbitmqUrls: [REFUSED_NODE, dropping.url, AMQP_URL],
      partners: [WATCHER, ORDERS],
      ordersPartner: ORDERS.name,
      consumersEnabled: true,
      relay: { enabled: true, pollIntervalMs: 200, publishTimeoutMs: 2000, batchSize: 50, claimLeaseMs: 30_000 },
    });
    await running.app.get(AmqpConnection).ready(); // partner queues declared, on the third node
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    await running?.close();
    await probe?.deleteQueues([partnerQueue(WATCHER.name), partnerQueue(ORDERS.name)]);
    await probe?.close();
    await dropping?.close();
    await db.end();
  });

  it('tried the dead nodes in order, then connected both links to the live one', async () => {
    // One attempt by the PaymentCenter's link, one by the Orders consumer's: each walked the list from the top.
    expect(dropping.connections()).toBeGreaterThanOrEqual(2);
    const health = await http('GET', `${running.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body.details.rabbitmq.status).toBe('up');
  });

  it('relays a payment event to a partner and the Orders consumer consumes its own', async () => {
    const order = (await http('POST', `${running.url}/api/orders`, orderBody(uniqueId('ha-mq')))).body;
    const payment = (await http('POST', `${running.url}/api/orders/${order.orderNo}/pay`, { channel: 'wechat' })).body;
    expect(payment.paymentNo).toEqual(expect.any(String));
    await paymentState(running.app).apply(payment.paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('4200'),
      paidAmountFen: payment.amountFen,
      paidAt: new Date(),
    });

    const [event] = await probe.take(partnerQueue(WATCHER.name), 1);
    expect(event).toBeDefined();
    expect(event.properties.type).toBe('payment.succeeded');
    expect(JSON.parse(event.content.toString()).payment.paymentNo).toBe(payment.paymentNo);
    // Only the Orders consumer, connected through the list, turns the order PAID on that event.
    await waitFor('order PAID', async () => {
      const current = await http('GET', `${running.url}/api/orders/${order.orderNo}`);
      return current.body.status === 'PAID';
    });
    const [applied] = await db.query('SELECT outcome FROM order_processed_events WHERE payment_no = ?', [
      payment.paymentNo,
    ]);
    expect(applied).toEqual([{ outcome: 'applied' }]);
  });
});
