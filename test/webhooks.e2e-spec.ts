import { createRequire } from 'node:module';
import { BlockList } from 'node:net';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import type { PartnerConfig } from '../src/config/environment';
import type { AppConfig } from '../src/config/app-config';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import { AmqpProbe, waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { http, type RunningApp, startApp, TestClock } from './support/test-app';
import { paidEvent as paidEventOf } from './support/paid-event';
import { ScriptedReceiver } from './support/webhook-receiver';

const { verifyPaymentEvent } = createRequire(join(process.cwd(), 'examples/partner-consumer/verify.js'))(
  './verify.js',
) as { verifyPaymentEvent: (header: unknown, body: Buffer, keys: { keyId: string; secret: string }[]) => boolean };

const partner = testPartners('w');
const webhook = (name: string, url: string): PartnerConfig => ({ ...partner(name), transport: 'webhook', url });
const QUEUE = partner('queue');
const run = Date.now().toString(36);
const OPS = {
  name: `ops-${run}`,
  token: `ops-${run}-0123456789abcdefghijkl`,
  scopes: ['deliveries:read', 'deliveries:retry'],
};
const admin = { authorization: `Bearer ${OPS.token}` };

/** The schedule, time-scaled: 300 ms, then 600 ms, then FAILED (the default spans a day). */
const SCHEDULE = [300, 600];
const TIMEOUT_MS = 500;

function webhookSettings(overrides: Partial<AppConfig['webhooks']> = {}): AppConfig['webhooks'] {
  return {
    timeoutMs: TIMEOUT_MS,
    retryScheduleMs: SCHEDULE,
    concurrency: 4,
    circuitFailures: 1000,
    circuitCooldownMs: 60_000,
    addresses: { allowed: new BlockList(), allowLoopback: true },
    ...overrides,
  };
}

interface DeliveryRow {
  id: string;
  status: string;
  attempts: number;
  last_error: string | null;
  schedule_step: number;
}

/**
 * Webhook partners against real local HTTP receivers: the signed POST, the retry schedule, timeouts, redirects,
 * the SSRF guard at send time, per-partner concurrency and circuit, the admin retry and the replay.
 */
describe('webhook partners (e2e, real HTTP receivers)', () => {
  const receivers = { main: new ScriptedReceiver(), other: new ScriptedReceiver(), elsewhere: new ScriptedReceiver() };
  let HOOK: PartnerConfig;
  let OTHER: PartnerConfig;
  let instance: RunningApp;
  let db: Pool;
  let probe: AmqpProbe;

  beforeAll(async () => {
    for (const receiver of Object.values(receivers)) await receiver.start();
    HOOK = webhook('hook', receivers.main.url);
    OTHER = webhook('other', receivers.other.url);
    db = sqlPool();
    probe = await AmqpProbe.open();
    instance = await startApp(Object.values(fakeGateways()), new TestClock(), {
      partners: [HOOK, OTHER, QUEUE],
      ordersPartner: QUEUE.name,
      consumersEnabled: false,
      relay: { enabled: true, pollIntervalMs: 100, publishTimeoutMs: 2000, batchSize: 10, claimLeaseMs: 30_000 },
      webhooks: webhookSettings(),
      adminTokens: [OPS],
    });
    await instance.app.get(AmqpConnection).ready();
  });

  afterAll(async () => {
    await instance?.close();
    for (const receiver of Object.values(receivers)) await receiver.stop();
    await probe.channel.deleteQueue(partnerQueue(QUEUE.name)).catch(() => undefined);
    await probe.close().catch(() => undefined);
    await db.end();
  });

  beforeEach(async () => {
    for (const receiver of Object.values(receivers)) {
      receiver.requests.length = 0;
      receiver.script(() => ({ status: 200 }));
    }
    await probe.channel.purgeQueue(partnerQueue(QUEUE.name));
  });

  const paidEvent = () => paidEventOf(instance, db, 'wh');

  async function delivery(eventId: string, to: PartnerConfig): Promise<DeliveryRow> {
    const [[row]] = (await db.query(
      'SELECT id, status, attempts, last_error, schedule_step FROM event_deliveries WHERE event_id = ? AND partner = ?',
      [eventId, to.name],
    )) as unknown as [DeliveryRow[]];
    return row;
  }

  const settled = (eventId: string, to: PartnerConfig, status: string, timeoutMs = 10_000) =>
    waitFor(
      `${to.name} delivery of ${eventId} ${status}`,
      async () => {
        const row = await delivery(eventId, to);
        return row.status === status ? row : undefined;
      },
      timeoutMs,
    );

  it('500, 500, 200: three signed POSTs of the same event on the schedule, then PUBLISHED', async () => {
    receivers.main.script((_, i) => (i < 2 ? { status: 500, body: 'database busy' } : { status: 200 }));
    const { eventId, paymentNo } = await paidEvent();

    const row = await settled(eventId, HOOK, 'PUBLISHED');
    expect(row.attempts).toBe(3);
    expect(row.last_error).toBeNull();
    const sends = receivers.main.sendsOf(eventId);
    expect(sends).toHaveLength(3);
    // The waits of the schedule, with at most ±20% jitter (and a little for the poll that finds it due).
    expect(sends[1].at - sends[0].at).toBeGreaterThanOrEqual(SCHEDULE[0] * 0.8 - 5);
    expect(sends[2].at - sends[1].at).toBeGreaterThanOrEqual(SCHEDULE[1] * 0.8 - 5);
    for (const send of sends) {
      expect(send.method).toBe('POST');
      expect(send.path).toBe('/hook');
      expect(send.headers['content-type']).toBe('application/json');
      expect(send.headers['x-pc-event-id']).toBe(eventId);
      expect(send.headers['idempotency-key']).toBe(eventId);
      expect(send.headers['x-pc-event-type']).toBe('payment.succeeded');
      expect(verifyPaymentEvent(send.headers['x-pc-signature'], send.body, [HOOK])).toBe(true);
      // Signed for this partner alone: another partner's key does not verify it.
      expect(verifyPaymentEvent(send.headers['x-pc-signature'], send.body, [OTHER])).toBe(false);
      const body = JSON.parse(send.body.toString());
      expect(body).toMatchObject({ id: eventId, type: 'payment.succeeded', payment: { paymentNo, status: 'PAID' } });
    }
    // The same bytes every time: the body is the stored event.
    expect(new Set(sends.map((s) => s.body.toString())).size).toBe(1);
    // The other webhook partner and the queue partner got it once each, on their own.
    expect(receivers.other.sendsOf(eventId)).toHaveLength(1);
    const [queued] = await probe.take(partnerQueue(QUEUE.name), 1);
    expect(JSON.parse(queued.content.toString()).id).toBe(eventId);
  });

  it('a receiver that never answers: the send times out and is retried', async () => {
    receivers.main.script((_, i) => (i === 0 ? 'hang' : { status: 204 }));
    const { eventId } = await paidEvent();
    const row = await settled(eventId, HOOK, 'PUBLISHED');
    expect(row.attempts).toBe(2);
    const sends = receivers.main.sendsOf(eventId);
    expect(sends).toHaveLength(2);
    expect(sends[1].at - sends[0].at).toBeGreaterThanOrEqual(TIMEOUT_MS + SCHEDULE[0] * 0.8 - 5);
  });

  it('a redirect is not followed; after the schedule the delivery is FAILED with the reason', async () => {
    receivers.main.script(() => ({ status: 302, location: receivers.elsewhere.url }));
    const { eventId } = await paidEvent();
    const row = await settled(eventId, HOOK, 'FAILED');
    expect(row.attempts).toBe(SCHEDULE.length + 1);
    expect(row.last_error).toContain(`HTTP 302 redirect to ${receivers.elsewhere.url}, not followed`);
    expect(receivers.elsewhere.requests).toHaveLength(0);
    // The other partners were not held up.
    expect((await delivery(eventId, OTHER)).status).toBe('PUBLISHED');

    // The admin list shows it; a retry starts a new round, which the receiver now takes.
    const listed = await http(
      'GET',
      `${instance.url}/api/admin/deliveries?status=FAILED&partner=${HOOK.name}`,
      undefined,
      admin,
    );
    expect(listed.body.map((d: { eventId: string }) => d.eventId)).toContain(eventId);
    receivers.main.script(() => ({ status: 200 }));
    const retried = await http('POST', `${instance.url}/api/admin/deliveries/${row.id}/retry`, {}, admin);
    expect(retried.status).toBe(200);
    const after = await settled(eventId, HOOK, 'PUBLISHED');
    expect(after.attempts).toBe(SCHEDULE.length + 2);
    expect(receivers.elsewhere.requests).toHaveLength(0);
  });

  it('a long answer is read only up to the cap and a 4xx is retried like any failure', async () => {
    receivers.main.script((_, i) => (i === 0 ? { status: 400, body: 'x'.repeat(100_000) } : { status: 200 }));
    const { eventId } = await paidEvent();
    await waitFor('the first failure recorded', async () =>
      (await delivery(eventId, HOOK)).attempts >= 1 ? true : undefined,
    );
    const first = await delivery(eventId, HOOK);
    if (first.status === 'PENDING') expect(first.last_error).toMatch(/^HTTP 400: x{300}$/);
    await settled(eventId, HOOK, 'PUBLISHED');
  });

  it('per-partner concurrency: never more than WEBHOOK_CONCURRENCY POSTs in flight to one partner', async () => {
    receivers.main.maxInFlight = 0;
    receivers.main.script(() => ({ status: 200, delayMs: 150 }));
    const events = await Promise.all(Array.from({ length: 12 }, () => paidEvent()));
    for (const { eventId } of events) await settled(eventId, HOOK, 'PUBLISHED', 20_000);
    expect(receivers.main.maxInFlight).toBeLessThanOrEqual(4);
    expect(receivers.main.maxInFlight).toBeGreaterThan(1);
  });
});
