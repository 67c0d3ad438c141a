import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import { partnerQueue } from '../src/notifications/payment-event';
import { testPartners } from './support/partners';
import { AmqpProbe, waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { sandboxKeys } from './support/sandbox';
import { fakeGateways } from './support/fake-gateway';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId, paymentState } from './support/test-app';

const partner = testPartners('k');
const WATCHER = partner('watcher');
const ORDERS = partner('orders');
// Enough that a relay draining two at a time back to back cannot finish within one 100 ms look before the kill.
const EVENTS = 120;

/**
 * The relay and the Orders consumer run in a real child process (the built app). It is SIGKILLed while
 * it is relaying and consuming, then started again: every event must still reach the partner queue, and
 * every order must be moved exactly once.
 */
describe('relay process killed mid-relay (e2e, SIGKILL)', () => {
  const main = join(process.cwd(), 'dist', 'src', 'main.js');
  let writer: RunningApp;
  let db: Pool;
  let probe: AmqpProbe;
  let child: ChildProcess | undefined;
  const keys = sandboxKeys('pc-relay-crash-');

  function startChild(): ChildProcess {
    const process_ = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        PORT: String(20_000 + Math.floor(Math.random() * 20_000)),
        LOG_LEVEL: 'error',
        DB_MIGRATE_ON_START: 'false',
        PARTNERS: JSON.stringify([WATCHER, ORDERS]),
        ORDERS_PARTNER: ORDERS.name,
        CONSUMERS_ENABLED: 'true',
        RELAY_ENABLED: 'true',
        RELAY_BATCH_SIZE: '2',
        RELAY_POLL_INTERVAL_MS: '100',
        RELAY_CLAIM_LEASE_MS: '2000',
        // The app only reads the sandbox's keys (the sandbox generates them): a set of this test's own.
        SANDBOX_KEYS_DIR: keys,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    process_.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[child] ${chunk.toString()}`));
    return process_;
  }

  beforeAll(async () => {
    if (!existsSync(main)) throw new Error('dist/src/main.js is missing: run `npm run build` first (npm test does)');
    // This app only writes payments and their outbox rows; the child relays and consumes.
    writer = await startApp(Object.values(fakeGateways()), new TestClock(), {
      partners: [WATCHER, ORDERS],
      ordersPartner: ORDERS.name,
      relay: { enabled: false, pollIntervalMs: 1000, publishTimeoutMs: 1000, batchSize: 50, claimLeaseMs: 2000 },
      consumersEnabled: false,
    });
    db = sqlPool();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await writer.close();
    await probe.deleteQueues([partnerQueue(WATCHER.name), partnerQueue(ORDERS.name)]);
    await probe.close();
    await db.end();
  });

  it('loses nothing and applies every event exactly once', async () => {
    const payments = [];
    for (let i = 0; i < EVENTS; i++) {
      const order = (await http('POST', `${writer.url}/api/orders`, orderBody(uniqueId('kill')))).body;
      const payment = (await http('POST', `${writer.url}/api/orders/${order.orderNo}/pay`, { channel: 'alipay' })).body;
      payments.push({
        orderNo: order.orderNo as string,
        paymentNo: payment.paymentNo as string,
        amountFen: payment.amountFen as number,
      });
    }
    const state = paymentState(writer.app);
    for (const p of payments) {
      await state.apply(p.paymentNo, {
        type: 'PAID_CONFIRMED',
        gatewayTradeNo: uniqueId('2026'),
        paidAmountFen: p.amountFen,
        paidAt: new Date(),
      });
    }
    const paymentNos = payments.map((p) => p.paymentNo);
    const count = async (sql: string) => Number(((await db.query(sql, [paymentNos]))[0] as { n: number }[])[0].n);
    const published = () =>
      count('SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NOT NULL AND payment_no IN (?)');
    const applied = () =>
      count("SELECT COUNT(*) AS n FROM order_processed_events WHERE outcome = 'applied' AND payment_no IN (?)");
    expect(await published()).toBe(0);

    child = startChild();
    await waitFor('the child to publish some events', async () => (await published()) >= 4, 30_000);
    child.kill('SIGKILL');
    const killedAt = { published: await published(), applied: await applied() };
    expect(killedAt.published).toBeLessThan(EVENTS); // it died mid-relay

    child = startChild();
    await waitFor('every event published', async () => (await published()) === EVENTS, 60_000);
    await waitFor('every order PAID', async () => (await applied()) === EVENTS, 60_000);
    child.kill('SIGKILL');
    child = undefined;

    const [orders] = await db.query('SELECT status, COUNT(*) AS n FROM orders WHERE order_no IN (?) GROUP BY status', [
      payments.map((p) => p.orderNo),
    ]);
    expect(orders).toEqual([{ status: 'PAID', n: EVENTS }]);
    const [processed] = await db.query('SELECT COUNT(*) AS n FROM order_processed_events WHERE payment_no IN (?)', [
      paymentNos,
    ]);
    expect(Number((processed as { n: number }[])[0].n)).toBe(EVENTS);
    const mine = new Set(paymentNos);
    const received = (await probe.take(partnerQueue(WATCHER.name), EVENTS * 3, 3000)).filter((m) =>
      mine.has((JSON.parse(m.content.toString()) as { payment: { paymentNo: string } }).payment.paymentNo),
    );
    // At least once: every event arrived; a crash between confirm and mark may have sent one twice.
    expect(new Set(received.map((m) => m.properties.messageId)).size).toBe(EVENTS);
    process.stdout.write(
      `relay-crash: killed after ${killedAt.published}/${EVENTS} published, ${killedAt.applied} applied; ` +
        `watcher got ${received.length} messages for ${EVENTS} events\n`,
    );
  });
});
