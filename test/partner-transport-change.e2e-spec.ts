import { BlockList } from 'node:net';
import type { Pool } from 'mysql2/promise';
import type { AppConfig } from '../src/config/app-config';
import type { PartnerConfig } from '../src/config/environment';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { PAYMENT_EVENTS_EXCHANGE, partnerQueue } from '../src/notifications/payment-event';
import { AmqpProbe, waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { paidEvent } from './support/paid-event';
import { http, type RunningApp, startApp, TestClock } from './support/test-app';
import { ScriptedReceiver } from './support/webhook-receiver';

const partner = testPartners('t');
const run = Date.now().toString(36);
const OPS = {
  name: `ops-${run}`,
  token: `ops-${run}-0123456789abcdefghijkl`,
  scopes: ['deliveries:read', 'deliveries:retry'],
};
const admin = { authorization: `Bearer ${OPS.token}` };
const webhooks: AppConfig['webhooks'] = {
  timeoutMs: 1000,
  retryScheduleMs: [60_000],
  concurrency: 2,
  circuitFailures: 100,
  circuitCooldownMs: 60_000,
  addresses: { allowed: new BlockList(), allowLoopback: true },
};
const relay = { enabled: true, pollIntervalMs: 100, publishTimeoutMs: 2000, batchSize: 10, claimLeaseMs: 30_000 };

/**
 * PARTNERS changes between deployments: a webhook partner that takes its events from a queue now. Its pending
 * webhook deliveries are not left waiting for a pump that no longer exists: they become FAILED with the reason,
 * and an operator's retry sends each by the transport the partner has now. And a replay to the only unrestricted
 * queue partner goes to its queue alone, not through `payment.events` to whatever else is bound there.
 */
describe('a partner whose transport changed (e2e)', () => {
  const receiver = new ScriptedReceiver();
  const SHOP = partner('shop');
  let db: Pool;
  let probe: AmqpProbe;
  let instance: RunningApp | undefined;
  const stale = `t-stale-${run}`;

  beforeAll(async () => {
    await receiver.start();
    receiver.script(() => ({ status: 500 }));
    db = sqlPool();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    await instance?.close();
    await receiver.stop();
    await probe.deleteQueues([partnerQueue(SHOP.name), stale]);
    await probe.close();
    await db.end();
  });

  const deliveryOf = async (eventId: string) =>
    (
      (await db.query(
        'SELECT id, status, last_error, next_attempt_at FROM event_deliveries WHERE event_id = ? AND partner = ?',
        [eventId, SHOP.name],
      )) as unknown as [{ id: string; status: string; last_error: string | null; next_attempt_at: Date | null }[]]
    )[0][0];

  it('webhook → queue: the pending webhook delivery is FAILED at the start, and a retry sends it to the queue', async () => {
    const asWebhook: PartnerConfig = { ...SHOP, transport: 'webhook', url: receiver.url };
    instance = await startApp(Object.values(fakeGateways()), new TestClock(), {
      partners: [asWebhook],
      ordersPartner: 'none',
      consumersEnabled: false,
      relay,
      webhooks,
      adminTokens: [OPS],
    });
    const { eventId, createdAt } = await paidEvent(instance, db, 'tc');
    await waitFor('the first POST failed', () => Promise.resolve(receiver.requests.length > 0 ? true : undefined));
    await instance.close();

    // The next deployment: SHOP reads a queue now.
    instance = await startApp(Object.values(fakeGateways()), new TestClock(), {
      partners: [SHOP],
      ordersPartner: 'none',
      consumersEnabled: false,
      relay,
      webhooks,
      adminTokens: [OPS],
    });
    await instance.app.get(AmqpConnection).ready();
    const failed = await waitFor('the orphan FAILED', async () => {
      const row = await deliveryOf(eventId);
      return row.status === 'FAILED' ? row : undefined;
    });
    expect(failed.last_error).toMatch(/no longer a webhook partner/);

    const retried = await http('POST', `${instance.url}/api/admin/deliveries/${failed.id}/retry`, {}, admin);
    expect(retried.body.status).toBe('PUBLISHED');
    const [message] = await probe.take(partnerQueue(SHOP.name), 1);
    expect(message.properties.messageId).toBe(eventId);
    expect((await deliveryOf(eventId)).next_attempt_at).toBeNull();
    expect(receiver.requests.filter((r) => r.headers['x-pc-event-id'] === eventId)).toHaveLength(1);

    // A replay to the only unrestricted queue partner reaches its queue alone: a queue bound to payment.events
    // by hand (a partner removed from PARTNERS, say) gets nothing.
    await probe.channel.assertQueue(stale, { durable: false });
    await probe.channel.bindQueue(stale, PAYMENT_EVENTS_EXCHANGE, 'payment.#');
    const replayFrom = await http(
      'POST',
      `${instance.url}/api/admin/partners/${SHOP.name}/replay`,
      { from: createdAt.toISOString(), to: new Date(createdAt.getTime() + 1).toISOString() },
      admin,
    );
    expect(replayFrom.body.replayed).toBeGreaterThanOrEqual(1);
    const again = await probe.take(partnerQueue(SHOP.name), replayFrom.body.replayed, 10_000);
    expect(again.map((m) => m.properties.messageId)).toContain(eventId);
    expect(await probe.take(stale, 1, 500)).toHaveLength(0);
  });
});
