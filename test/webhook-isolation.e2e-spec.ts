import { BlockList } from 'node:net';
import type { Pool } from 'mysql2/promise';
import type { AppConfig } from '../src/config/app-config';
import type { PartnerConfig } from '../src/config/environment';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { http, type RunningApp, startApp, TestClock } from './support/test-app';
import { paidEvent } from './support/paid-event';
import { ScriptedReceiver } from './support/webhook-receiver';

const partner = testPartners('v');
const run = Date.now().toString(36);
const OPS = { name: `ops-${run}`, token: `ops-${run}-0123456789abcdefghijkl`, scopes: ['deliveries:read'] };

/**
 * One webhook partner failing or hanging must not slow another: each has its own pump, slots and circuit. And
 * the SSRF guard at send time: a name that resolves to a refused address is never connected to.
 */
describe('webhook partners are isolated from each other; the address policy holds at send time (e2e)', () => {
  const failing = new ScriptedReceiver();
  const hanging = new ScriptedReceiver();
  const healthy = new ScriptedReceiver();
  let FAILING: PartnerConfig;
  let HANGING: PartnerConfig;
  let HEALTHY: PartnerConfig;
  let instance: RunningApp;
  let db: Pool;

  const settings = (overrides: Partial<AppConfig['webhooks']> = {}): AppConfig['webhooks'] => ({
    timeoutMs: 3000,
    retryScheduleMs: [200, 200, 200, 200, 200, 200, 200, 200],
    concurrency: 2,
    circuitFailures: 3,
    circuitCooldownMs: 60_000,
    addresses: { allowed: new BlockList(), allowLoopback: true },
    ...overrides,
  });

  async function start(partners: PartnerConfig[], webhooks: AppConfig['webhooks']): Promise<RunningApp> {
    return startApp(Object.values(fakeGateways()), new TestClock(), {
      partners,
      ordersPartner: 'none',
      consumersEnabled: false,
      relay: { enabled: true, pollIntervalMs: 100, publishTimeoutMs: 2000, batchSize: 10, claimLeaseMs: 30_000 },
      webhooks,
      adminTokens: [OPS],
    });
  }

  beforeAll(async () => {
    for (const receiver of [failing, hanging, healthy]) await receiver.start();
    failing.script(() => ({ status: 503, body: 'down for maintenance' }));
    hanging.script(() => 'hang');
    FAILING = { ...partner('failing'), transport: 'webhook', url: failing.url };
    HANGING = { ...partner('hanging'), transport: 'webhook', url: hanging.url };
    HEALTHY = { ...partner('healthy'), transport: 'webhook', url: healthy.url };
    db = sqlPool();
  });

  afterAll(async () => {
    await instance?.close();
    for (const receiver of [failing, hanging, healthy]) await receiver.stop();
    await db.end();
  });

  async function paidEvents(count: number): Promise<string[]> {
    const events = await Promise.all(Array.from({ length: count }, () => paidEvent(instance, db, 'iso')));
    return events.map((event) => event.eventId);
  }

  const statuses = async (to: PartnerConfig, eventIds: string[]) =>
    (
      (await db.query(
        'SELECT status, attempts, last_error FROM event_deliveries WHERE partner = ? AND event_id IN (?)',
        [to.name, eventIds],
      )) as unknown as [{ status: string; attempts: number; last_error: string | null }[]]
    )[0];

  it('a failing partner opens its circuit and a hanging one fills only its own slots; the healthy one gets every event at once', async () => {
    instance = await start([FAILING, HANGING, HEALTHY], settings());
    const events = await paidEvents(10);

    // The healthy partner has them all while the others fail and hang.
    await waitFor(
      'the healthy partner has every event',
      async () => {
        const rows = await statuses(HEALTHY, events);
        return rows.length === 10 && rows.every((r) => r.status === 'PUBLISHED');
      },
      10_000,
    );
    expect(new Set(healthy.requests.map((r) => r.headers['x-pc-event-id'])).size).toBe(10);

    // The hanging partner: at most its 2 slots in flight, nothing else sent to it while they hang.
    expect(hanging.requests.length).toBeLessThanOrEqual(2);
    expect(hanging.maxInFlight).toBeLessThanOrEqual(2);

    // The failing partner: 3 failed sends in a row opened its circuit; nothing more is sent, no attempt spent.
    await waitFor('the failing partner circuit open', async () => {
      const listed = await http('GET', `${instance.url}/api/admin/partners`, undefined, {
        authorization: `Bearer ${OPS.token}`,
      });
      const me = (listed.body as { name: string; circuit: string }[]).find((p) => p.name === FAILING.name);
      return me?.circuit === 'open';
    });
    const sentWhenOpened = failing.requests.length;
    expect(sentWhenOpened).toBeGreaterThanOrEqual(3);
    expect(sentWhenOpened).toBeLessThanOrEqual(3 + 1); // the second slot's send may have been under way
    await new Promise((resolve) => setTimeout(resolve, 1000)); // five retry waits
    expect(failing.requests.length).toBe(sentWhenOpened);
    const waiting = await statuses(FAILING, events);
    expect(waiting.every((r) => r.status === 'PENDING')).toBe(true);
    expect(waiting.reduce((sum, r) => sum + r.attempts, 0)).toBe(sentWhenOpened);
    expect(waiting.find((r) => r.attempts > 0)?.last_error).toBe('HTTP 503: down for maintenance');

    await instance.close();
    instance = undefined as unknown as RunningApp;
  }, 30_000);

  it('a name that resolves to a loopback address is not connected to when loopback is not allowed', async () => {
    const local = { ...partner('local'), transport: 'webhook' as const, url: `http://localhost:${healthy.port}/hook` };
    healthy.requests.length = 0;
    instance = await start([local], settings({ addresses: { allowed: new BlockList(), allowLoopback: false } }));
    const [eventId] = await paidEvents(1);
    const row = await waitFor('the refusal recorded', async () => {
      const [found] = await statuses(local, [eventId]);
      return found && found.attempts > 0 ? found : undefined;
    });
    expect(row.last_error).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1): .*loopback/);
    expect(healthy.requests).toHaveLength(0);
    await instance.close();
    instance = undefined as unknown as RunningApp;
  });
});
