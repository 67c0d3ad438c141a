import type { Pool } from 'mysql2/promise';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import { AmqpProbe } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { commitEvents, succeededEvents } from './support/outbox-rows';
import { testPartners } from './support/partners';
import { http, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const REJECTED = testPartners('r')('bulk');
const run = Date.now().toString(36);
const OPS = {
  name: `ops-${run}`,
  token: `ops-${run}-0123456789abcdefghijkl`,
  scopes: ['deliveries:read', 'deliveries:retry'],
};
const VIEWER = { name: `viewer-${run}`, token: `viewer-${run}-0123456789abcdefghij`, scopes: ['deliveries:read'] };

interface AuditRow {
  actor: string;
  action: string;
  affected: number;
  target: { partner?: string; ids?: string[] };
}

/**
 * The bulk retry of deliveries (`POST /api/admin/deliveries/retry`) is audited in the transaction that claims
 * the deliveries: the filter, the ids and their count, the operator. Only a token with deliveries:retry may.
 */
describe('admin bulk retry of deliveries, audited (e2e)', () => {
  let instance: RunningApp;
  let db: Pool;
  let probe: AmqpProbe;

  beforeAll(async () => {
    instance = await startApp(Object.values(fakeGateways()), new TestClock(), {
      partners: [REJECTED],
      ordersPartner: REJECTED.name,
      consumersEnabled: false,
      adminTokens: [OPS, VIEWER],
      // Nothing is relayed here: the deliveries are made FAILED by the test, and only the retry publishes.
      relay: { enabled: false, pollIntervalMs: 200, publishTimeoutMs: 2000, batchSize: 50, claimLeaseMs: 30_000 },
    });
    await instance.app.get(AmqpConnection).ready();
    db = sqlPool();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    await instance.close();
    await probe.deleteQueues([partnerQueue(REJECTED.name)]);
    await probe.close();
    await db.end();
  });

  beforeEach(async () => {
    await probe.channel.purgeQueue(partnerQueue(REJECTED.name));
    // Earlier tests' deliveries are settled, so each test's filter matches only its own.
    await db.query(`UPDATE event_deliveries SET status = 'PUBLISHED' WHERE partner = ? AND status = 'FAILED'`, [
      REJECTED.name,
    ]);
  });

  const rows = async <T>(sql: string, params: unknown[]) => (await db.query(sql, params))[0] as T[];
  const retry = (token: string, body: object) =>
    http('POST', `${instance.url}/api/admin/deliveries/retry`, body, {
      authorization: `Bearer ${token}`,
      'Idempotency-Key': uniqueId('bulk'),
    });

  /** `count` deliveries to REJECTED that the partner refused: events published, deliveries FAILED. */
  async function failedDeliveries(count: number): Promise<string[]> {
    const events = succeededEvents(count);
    await commitEvents(db, events, [REJECTED.name]);
    const ids = events.map((e) => e.eventId);
    await db.query('UPDATE outbox_events SET published_at = NOW(3) WHERE event_id IN (?)', [ids]);
    await db.query(
      `UPDATE event_deliveries SET status = 'FAILED', attempts = 1, failed_at = NOW(3),
          last_error = 'dead-lettered: rejected' WHERE event_id IN (?)`,
      [ids],
    );
    const found = await rows<{ id: string | number }>('SELECT id FROM event_deliveries WHERE event_id IN (?)', [ids]);
    return found.map((d) => String(d.id)).sort();
  }

  const auditOf = async (actor: string) =>
    (
      await rows<{ actor: string; action: string; affected: number; target: string }>(
        "SELECT actor, action, affected, target FROM admin_audit WHERE actor = ? AND action = 'delivery.retry_bulk' ORDER BY id",
        [actor],
      )
    ).map((row): AuditRow => ({ ...row, target: JSON.parse(row.target) as AuditRow['target'] }));
  const statuses = async (ids: string[]) =>
    (await rows<{ status: string }>('SELECT status FROM event_deliveries WHERE id IN (?)', [ids])).map((d) => d.status);

  it('is refused (403) to a token without deliveries:retry: nothing retried, nothing audited', async () => {
    const ids = await failedDeliveries(2);
    const refused = await retry(VIEWER.token, { partner: REJECTED.name });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
    expect(await statuses(ids)).toEqual(['FAILED', 'FAILED']);
    expect(await rows('SELECT id FROM admin_audit WHERE actor = ?', [VIEWER.name])).toEqual([]);
    expect(await probe.take(partnerQueue(REJECTED.name), 1, 300)).toHaveLength(0);
  });

  it('writes one audit row with the filter, the ids, their count and the operator; a retry matching none too', async () => {
    const ids = await failedDeliveries(3);
    const done = await retry(OPS.token, { partner: REJECTED.name, eventType: 'payment.succeeded' });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ matched: 3, retried: 3, dryRun: false });
    expect(await statuses(ids)).toEqual(['PUBLISHED', 'PUBLISHED', 'PUBLISHED']);
    expect(await probe.take(partnerQueue(REJECTED.name), 4, 1000)).toHaveLength(3);

    const none = await retry(OPS.token, { partner: REJECTED.name });
    expect(none.body).toEqual({ matched: 0, retried: 0, dryRun: false });

    const audit = await auditOf(OPS.name);
    expect(audit.slice(-2)).toEqual([
      {
        actor: OPS.name,
        action: 'delivery.retry_bulk',
        affected: 3,
        target: { partner: REJECTED.name, eventType: 'payment.succeeded', ids: expect.any(Array) },
      },
      { actor: OPS.name, action: 'delivery.retry_bulk', affected: 0, target: { partner: REJECTED.name, ids: [] } },
    ]);
    expect(audit[audit.length - 2].target.ids?.map(String).sort()).toEqual(ids);
  });

  it('retries nothing when its audit row cannot be written (same transaction): the deliveries stay FAILED', async () => {
    const ids = await failedDeliveries(2);
    const trigger = `refuse_bulk_audit_${run}`;
    await db.query(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON admin_audit FOR EACH ROW
         IF NEW.action = 'delivery.retry_bulk' AND NEW.actor = '${OPS.name}' THEN
           SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit refused'; END IF`,
    );
    try {
      expect((await retry(OPS.token, { partner: REJECTED.name })).status).toBe(500);
    } finally {
      await db.query(`DROP TRIGGER IF EXISTS ${trigger}`);
    }
    expect(await statuses(ids)).toEqual(['FAILED', 'FAILED']);
    expect(await probe.take(partnerQueue(REJECTED.name), 1, 500)).toHaveLength(0);
  });

  it('several operators at once: each delivery claimed and sent once, every request audited, the counts add up', async () => {
    const ids = await failedDeliveries(6);
    const before = (await auditOf(OPS.name)).length;
    const results = await Promise.all(Array.from({ length: 4 }, () => retry(OPS.token, { partner: REJECTED.name })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(results.reduce((sum, r) => sum + (r.body as { retried: number }).retried, 0)).toBe(6);

    const audit = (await auditOf(OPS.name)).slice(before);
    expect(audit).toHaveLength(4);
    expect(audit.reduce((sum, row) => sum + row.affected, 0)).toBe(6);
    expect(
      audit
        .flatMap((row) => row.target.ids ?? [])
        .map(String)
        .sort(),
    ).toEqual(ids);
    expect(await statuses(ids)).toEqual(Array(6).fill('PUBLISHED'));
    const sent = await probe.take(partnerQueue(REJECTED.name), 7, 1500);
    expect(new Set(sent.map((m) => m.properties.messageId)).size).toBe(6);
    expect(sent).toHaveLength(6);
  });
});
