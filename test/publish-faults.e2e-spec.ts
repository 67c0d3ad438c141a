import { execSync } from 'node:child_process';
import type { Pool } from 'mysql2/promise';
import { AmqpConnection, partnerQueueArguments } from '../src/notifications/amqp.connection';
import { OutboxRelay } from '../src/notifications/outbox.relay';
import { PAYMENT_EVENTS_EXCHANGE, partnerQueue } from '../src/notifications/payment-event';
import { AMQP_URL, AmqpProbe, waitFor } from './support/amqp';
import { BlockingProxy } from './support/blocking-proxy';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { commitEvents, succeededEvents } from './support/outbox-rows';
import { testPartners } from './support/partners';
import { type RunningApp, startApp, TestClock } from './support/test-app';

const partner = testPartners('w');
const DELIVERY_LIMIT = 5;
const PUBLISH_TIMEOUT_MS = 500;

/** The broker URL on virtual host `name`, made (as guest's) if it is not there yet. */
function ownVhost(name: string): string {
  execSync(`rabbitmqctl add_vhost ${name} || true`, { stdio: 'pipe', shell: '/bin/bash' });
  execSync(`rabbitmqctl set_permissions -p ${name} guest '.*' '.*' '.*'`, { stdio: 'pipe' });
  const url = new URL(AMQP_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** One relaying app for `p` alone, on `rabbitmqUrl`; its relay is the only one running while a test runs. */
function relayingApp(p: ReturnType<typeof partner>, rabbitmqUrl = AMQP_URL): Promise<RunningApp> {
  return startApp(Object.values(fakeGateways()), new TestClock(), {
    rabbitmqUrls: [rabbitmqUrl],
    partners: [p],
    ordersPartner: p.name,
    consumersEnabled: false,
    partnerDeliveryLimit: DELIVERY_LIMIT,
    relay: {
      enabled: true,
      pollIntervalMs: 200,
      publishTimeoutMs: PUBLISH_TIMEOUT_MS,
      batchSize: 50,
      claimLeaseMs: 30_000,
    },
  });
}

/**
 * Publish faults against the real broker: the relay marks an event published only on a confirm of a routed
 * message. A send that is returned (no queue bound) or never confirmed (a blocked connection) is a failed attempt,
 * recorded on the event, retried with backoff, and the event goes out once the fault is gone.
 */
describe('relay publish faults (e2e)', () => {
  let db: Pool;
  let probe: AmqpProbe;

  beforeAll(async () => {
    db = sqlPool();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    await probe.close();
    await db.end();
  });

  const eventRow = async (eventId: string) =>
    (
      (
        await db.query(
          `SELECT attempts, last_error, published_at IS NOT NULL AS published FROM outbox_events WHERE event_id = ?`,
          [eventId],
        )
      )[0] as { attempts: number; last_error: string | null; published: number }[]
    )[0];
  const deliveryRow = async (eventId: string) =>
    ((await db.query('SELECT status, attempts FROM event_deliveries WHERE event_id = ?', [eventId]))[0] as object[])[0];
  const messageIds = async (queue: string, count: number, timeoutMs: number) =>
    (await probe.take(queue, count, timeoutMs)).map((m) => m.properties.messageId as string);

  describe('an event no queue is bound for', () => {
    const LOST = partner('unbound', ['payment.succeeded']);
    let instance: RunningApp;
    let own: AmqpProbe;

    // A virtual host of its own: on the shared one, any other app's partner queue bound to payment.#
    // (`npm start`'s Orders queue, say) would route the event.
    beforeAll(async () => {
      const url = ownVhost('payment_center_test_unroutable');
      own = await AmqpProbe.open(url);
      instance = await relayingApp(LOST, url);
      await instance.app.get(AmqpConnection).ready();
    });

    afterAll(async () => {
      await instance.close();
      await own.deleteQueues([partnerQueue(LOST.name)]);
      await own.close();
    });

    it('is returned (mandatory), recorded as unroutable and not marked published; sent once a queue is bound again', async () => {
      // The partner's queue disappears (deleted by hand): nothing is bound to payment.succeeded any more.
      await own.channel.deleteQueue(partnerQueue(LOST.name));
      const [event] = succeededEvents(1);
      await commitEvents(db, [event], [LOST.name]);
      instance.app.get(OutboxRelay).kick();

      const failed = await waitFor('a failed attempt', async () => {
        const row = await eventRow(event.eventId);
        return row.attempts > 0 && row;
      });
      expect(failed).toEqual({
        attempts: expect.any(Number),
        last_error: `unroutable: no queue bound for payment.succeeded on ${PAYMENT_EVENTS_EXCHANGE}`,
        published: 0,
      });
      expect(await deliveryRow(event.eventId)).toEqual({ status: 'PENDING', attempts: 0 });

      // The queue is back, as the PaymentCenter declares it: the relay's next attempt goes out, once.
      await own.channel.assertQueue(partnerQueue(LOST.name), {
        durable: true,
        arguments: partnerQueueArguments(DELIVERY_LIMIT),
      });
      await own.channel.bindQueue(partnerQueue(LOST.name), PAYMENT_EVENTS_EXCHANGE, 'payment.succeeded');
      await waitFor('published', async () => (await eventRow(event.eventId)).published === 1, 15_000);
      expect(await deliveryRow(event.eventId)).toEqual({ status: 'PUBLISHED', attempts: 1 });
      const received = await own.take(partnerQueue(LOST.name), 2, 1000);
      expect(received.map((m) => m.properties.messageId as string)).toEqual([event.eventId]);
    });
  });

  describe('a publish the broker never confirms', () => {
    const STALLED = partner('stalled', ['payment.succeeded']);
    let proxy: BlockingProxy;
    let instance: RunningApp;

    beforeAll(async () => {
      proxy = await BlockingProxy.start();
      // The app reaches the broker through the proxy only; the probe and everyone else, directly.
      const throughProxy = AMQP_URL.replace(/@[^/]+/, `@127.0.0.1:${proxy.port}`);
      instance = await relayingApp(STALLED, throughProxy);
      await instance.app.get(AmqpConnection).ready();
    });

    afterAll(async () => {
      proxy.unblock();
      await instance.close();
      await proxy.close();
      await probe.deleteQueues([partnerQueue(STALLED.name)]);
    });

    it('times out, is recorded and not marked published; the relay retries it and it goes out once unblocked', async () => {
      const [event] = succeededEvents(1);
      proxy.block(); // the broker reads nothing more of the app's connection, as under a memory alarm
      try {
        await commitEvents(db, [event], [STALLED.name]);
        instance.app.get(OutboxRelay).kick();
        const failed = await waitFor('a timed-out attempt', async () => {
          const row = await eventRow(event.eventId);
          return row.attempts > 0 && row;
        });
        expect(failed).toEqual({
          attempts: expect.any(Number),
          last_error: `no confirm from the broker within ${PUBLISH_TIMEOUT_MS} ms (connection blocked or down)`,
          published: 0,
        });
        expect(await deliveryRow(event.eventId)).toEqual({ status: 'PENDING', attempts: 0 });
        expect((await probe.channel.checkQueue(partnerQueue(STALLED.name))).messageCount).toBe(0);
      } finally {
        proxy.unblock();
      }

      await waitFor('published after the block', async () => (await eventRow(event.eventId)).published === 1, 15_000);
      expect(await deliveryRow(event.eventId)).toEqual({ status: 'PUBLISHED', attempts: 1 });
      // The timed-out sends may arrive too once the broker reads them: the same event, which consumers deduplicate.
      const ids = await messageIds(partnerQueue(STALLED.name), 10, 1500);
      expect(ids.length).toBeGreaterThanOrEqual(1);
      expect(new Set(ids)).toEqual(new Set([event.eventId]));
    });
  });
});
