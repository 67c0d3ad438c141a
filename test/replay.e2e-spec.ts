import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { BlockList } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import type { PartnerConfig } from '../src/config/environment';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import { AmqpProbe, waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { paidEvent } from './support/paid-event';
import { http, type RunningApp, startApp, TestClock } from './support/test-app';

const { createReceiver } = createRequire(join(process.cwd(), 'examples/webhook-receiver/receiver.js'))(
  './receiver.js',
) as {
  createReceiver: (options: {
    keys: { keyId: string; secret: string }[];
    store: string;
    onApplied?: (event: { id: string }) => void;
  }) => Server;
};

const partner = testPartners('p');
const QUEUE = partner('queue');
const BYSTANDER = partner('bystander');
const run = Date.now().toString(36);
const OPS = {
  name: `ops-${run}`,
  token: `ops-${run}-0123456789abcdefghijkl`,
  scopes: ['deliveries:read', 'deliveries:retry'],
};
const VIEWER = { name: `viewer-${run}`, token: `viewer-${run}-0123456789abcdefghij`, scopes: ['deliveries:read'] };
const as = (token: { token: string }) => ({ authorization: `Bearer ${token.token}` });

/**
 * Replays: an operator re-delivers a partner's events over a range; the events keep their ids and versions, so
 * the example webhook receiver (deduplicating) applies nothing twice, and no other partner receives anything.
 */
describe("replay of a partner's events (e2e)", () => {
  let HOOK: PartnerConfig;
  let instance: RunningApp;
  let db: Pool;
  let probe: AmqpProbe;
  let receiver: Server;
  let dir: string;
  const applied: string[] = [];
  const answers: string[] = [];
  let events: { eventId: string; createdAt: Date }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pc-replay-'));
    const hookKeys = partner('hook');
    receiver = createReceiver({
      keys: [{ keyId: hookKeys.keyId, secret: hookKeys.secret }],
      store: join(dir, 'applied.jsonl'),
      onApplied: (event) => applied.push(event.id),
    });
    receiver.on('request', (_req, res) => res.on('finish', () => answers.push(String(res.statusCode))));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    HOOK = {
      ...hookKeys,
      transport: 'webhook',
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`,
    };
    db = sqlPool();
    probe = await AmqpProbe.open();
    instance = await startApp(Object.values(fakeGateways()), new TestClock(), {
      partners: [HOOK, QUEUE, BYSTANDER],
      ordersPartner: 'none',
      consumersEnabled: false,
      relay: { enabled: true, pollIntervalMs: 100, publishTimeoutMs: 2000, batchSize: 10, claimLeaseMs: 30_000 },
      webhooks: {
        timeoutMs: 2000,
        retryScheduleMs: [200, 400],
        concurrency: 4,
        circuitFailures: 100,
        circuitCooldownMs: 60_000,
        addresses: { allowed: new BlockList(), allowLoopback: true },
      },
      adminTokens: [OPS, VIEWER],
    });
    await instance.app.get(AmqpConnection).ready();

    for (let i = 0; i < 3; i += 1) events.push(await paidEvent(instance, db, 'rp'));
    events = events.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    await waitFor('every first delivery made', () => Promise.resolve(applied.length === 3 ? true : undefined));
    for (const p of [QUEUE, BYSTANDER]) expect(await probe.take(partnerQueue(p.name), 3)).toHaveLength(3);
  });

  afterAll(async () => {
    await instance?.close();
    await new Promise((resolve) => receiver.close(resolve));
    await probe.deleteQueues([QUEUE, BYSTANDER].map((p) => partnerQueue(p.name)));
    await probe.close();
    await db.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const replay = (name: string, body: object, token = OPS) =>
    http('POST', `${instance.url}/api/admin/partners/${name}/replay`, body, as(token));
  const audit = async (action: string) =>
    (
      (await db.query('SELECT affected, target FROM admin_audit WHERE actor = ? AND action = ? ORDER BY id', [
        OPS.name,
        action,
      ])) as unknown as [{ affected: number; target: string }[]]
    )[0].map((row) => ({ affected: row.affected, target: JSON.parse(row.target) as { partner: string } }));

  it('a dry run counts and sends nothing; it is audited', async () => {
    const from = new Date(events[0].createdAt.getTime()).toISOString();
    const answer = await replay(HOOK.name, { from, dryRun: true });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ partner: HOOK.name, matched: expect.any(Number), replayed: 0, dryRun: true });
    expect(answer.body.matched).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answers).toHaveLength(3);
    expect((await audit('partner.replay.dry_run')).at(-1)?.target.partner).toBe(HOOK.name);
  });

  it('a webhook partner after an event id: the same events again, deduplicated by the receiver, nothing to the others', async () => {
    const answer = await replay(HOOK.name, { afterEventId: events[0].eventId });
    expect(answer.status).toBe(200);
    expect(answer.body.replayed).toBeGreaterThanOrEqual(2);
    await waitFor('the replayed sends answered', () => Promise.resolve(answers.length >= 3 + answer.body.replayed));
    const stored = readFileSync(join(dir, 'applied.jsonl'), 'utf8').trim().split('\n');
    const ids = stored.map((line) => (JSON.parse(line) as { id: string }).id);
    // Every event applied exactly once although sent twice.
    expect(new Set(ids).size).toBe(ids.length);
    expect(applied.filter((id) => events.some((e) => e.eventId === id))).toHaveLength(3);
    for (const { eventId } of events.slice(1)) {
      const [[row]] = (await db.query('SELECT status FROM event_deliveries WHERE event_id = ? AND partner = ?', [
        eventId,
        HOOK.name,
      ])) as unknown as [{ status: string }[]];
      expect(row.status).toBe('PUBLISHED');
    }
    for (const p of [QUEUE, BYSTANDER]) expect(await probe.take(partnerQueue(p.name), 1, 500)).toHaveLength(0);
    expect((await audit('partner.replay')).at(-1)).toMatchObject({ target: { partner: HOOK.name } });
  });

  it("a queue partner: its own queue gets the events again with their ids and versions, the bystander's nothing", async () => {
    const from = events[0].createdAt.toISOString();
    const to = new Date(events[2].createdAt.getTime() + 1).toISOString();
    const sentBefore = answers.length;
    const answer = await replay(QUEUE.name, { from, to });
    expect(answer.status).toBe(200);
    const again = await probe.take(partnerQueue(QUEUE.name), answer.body.replayed, 10_000);
    expect(again).toHaveLength(answer.body.replayed);
    const bodies = again.map((m) => JSON.parse(m.content.toString()) as { id: string; version: number });
    for (const { eventId } of events) {
      const copy = bodies.find((b) => b.id === eventId);
      expect(copy).toBeDefined();
      expect(copy?.version).toBe(2);
      expect(again.find((m) => m.properties.messageId === eventId)).toBeDefined();
    }
    expect(await probe.take(partnerQueue(BYSTANDER.name), 1, 500)).toHaveLength(0);
    expect(answers.length).toBe(sentBefore);
  });

  it('refuses what it cannot do, changing nothing: unknown partner, no start, bad id, a token without deliveries:retry', async () => {
    const sentBefore = answers.length;
    // No token, or a wrong one: neither the list nor a replay.
    const anonymous = await http('POST', `${instance.url}/api/admin/partners/${HOOK.name}/replay`, {
      from: events[0].createdAt.toISOString(),
    });
    expect(anonymous.status).toBe(401);
    expect((await http('GET', `${instance.url}/api/admin/partners`)).status).toBe(401);
    expect(
      (await http('GET', `${instance.url}/api/admin/partners`, undefined, { authorization: 'Bearer wrong' })).status,
    ).toBe(401);
    expect((await replay('nobody', { from: events[0].createdAt.toISOString() })).body.code).toBe('PARTNER_NOT_FOUND');
    expect((await replay(HOOK.name, {})).status).toBe(400);
    expect((await replay(HOOK.name, { afterEventId: 'not-an-id' })).status).toBe(400);
    // `from` is checked also beside afterEventId, and a range must not be empty or inverted.
    expect((await replay(HOOK.name, { afterEventId: events[0].eventId, from: 'garbage' })).status).toBe(400);
    const at = events[0].createdAt.toISOString();
    expect((await replay(HOOK.name, { from: at, to: at })).status).toBe(400);
    expect((await replay(HOOK.name, { from: at, to: new Date(0).toISOString() })).status).toBe(400);
    const unknown = await replay(HOOK.name, { afterEventId: '0b0c2f1e-9d7a-4c55-8f0e-6a1d2b3c4d5e' });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'REPLAY_START_NOT_FOUND']);
    expect((await replay(HOOK.name, { from: events[0].createdAt.toISOString() }, VIEWER)).status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answers.length).toBe(sentBefore);
  });
});
