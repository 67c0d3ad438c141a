import type { Pool } from 'mysql2/promise';
import { randomUUID } from 'node:crypto';
import { API_SCOPES } from '../src/applications/api-key-secret';
import { EventsPurger } from '../src/notifications/events-purger';
import type { PaymentEventBody } from '../src/notifications/payment-event';
import { newTestApplication, type TestApplication } from './support/api-keys';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { succeededEvents } from './support/outbox-rows';
import { http, orderBody, paymentState, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const FEED_DELAY_MS = 2000;
const RETENTION_MS = 3 * 86_400_000;
const settings = {
  consumersEnabled: false,
  relay: { enabled: false, pollIntervalMs: 60_000, publishTimeoutMs: 1000, batchSize: 50, claimLeaseMs: 30_000 },
  events: { retentionMs: RETENTION_MS, feedDelayMs: FEED_DELAY_MS },
};

interface Page {
  data: PaymentEventBody[];
  hasMore: boolean;
  nextAfter: string | null;
}

/**
 * The events API against the real app, MariaDB and HTTP: an application pays orders (fake gateways, the real
 * state machine and outbox writer) and reads its events back, page by page, across a restart of the reader and
 * of the app; another application sees none of them. Then the retention purge, on rows written with SQL.
 */
describe('events API (e2e)', () => {
  let clock: TestClock;
  let instance: RunningApp;
  let db: Pool;
  let A: TestApplication;
  let B: TestApplication;

  beforeAll(async () => {
    clock = new TestClock();
    instance = await startApp(Object.values(fakeGateways()), clock, settings);
    db = sqlPool();
    A = await newTestApplication();
    B = await newTestApplication();
  });

  afterAll(async () => {
    await instance?.close();
    await db?.end();
  });

  const url = (path: string) => `${instance.url}${path}`;
  const feed = (query: string, app: TestApplication = A) =>
    http<Page>('GET', url(`/api/events${query}`), undefined, app.headers);

  /** An order of `app` paid: one payment.succeeded, written by the app's own outbox writer at the clock's time. */
  async function paid(app: TestApplication): Promise<string> {
    const created = await http('POST', url('/api/orders'), orderBody(uniqueId('feed')), app.headers);
    expect(created.status).toBe(201);
    const started = await http(
      'POST',
      url(`/api/orders/${created.body.orderNo}/pay`),
      { channel: 'wechat' },
      app.headers,
    );
    expect(started.status).toBe(200);
    await paymentState(instance.app).apply(started.body.paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('4200'),
      paidAmountFen: started.body.amountFen,
      paidAt: clock.now(),
    });
    return started.body.paymentNo as string;
  }

  /** The application's events as the database orders them: what a complete read must return. */
  async function storedFeed(applicationId: string): Promise<{ eventId: string; body: string }[]> {
    const [rows] = await db.query(
      'SELECT event_id AS eventId, body FROM outbox_events WHERE application_id = ? ORDER BY created_at, id',
      [applicationId],
    );
    return rows as { eventId: string; body: string }[];
  }

  /** Reads every page after `cursor` with `limit`, as a partner would; returns the events and the last cursor. */
  async function readAll(cursor: string | null, limit: number, app = A) {
    const events: PaymentEventBody[] = [];
    for (;;) {
      const page = await feed(`?limit=${limit}${cursor ? `&after=${cursor}` : ''}`, app);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(limit);
      events.push(...page.body.data);
      if (page.body.nextAfter) cursor = page.body.nextAfter;
      if (!page.body.hasMore) return { events, cursor };
    }
  }

  it('pages through every event of the application once, in order, with limit=2 and after', async () => {
    const payments: string[] = [];
    for (let i = 0; i < 5; i++) {
      payments.push(await paid(A));
      clock.advance(10);
    }
    clock.advance(FEED_DELAY_MS);
    const { events } = await readAll(null, 2);
    expect(events.map((e) => e.payment.paymentNo)).toEqual(payments);
    expect(events.every((e) => e.type === 'payment.succeeded' && e.payment.applicationId === A.applicationId)).toBe(
      true,
    );
    // Exactly the stored bodies, parsed: what partners receive.
    const stored = await storedFeed(A.applicationId);
    expect(events).toEqual(stored.map((row) => JSON.parse(row.body)));

    const first = await feed('?limit=2');
    expect(first.body).toMatchObject({ hasMore: true, nextAfter: events[1].id });
    const last = await feed(`?after=${events[3].id}&limit=2`);
    expect(last.body).toEqual({ data: [events[4]], hasMore: false, nextAfter: events[4].id });
    const past = await feed(`?after=${events[4].id}`);
    expect(past.body).toEqual({ data: [], hasMore: false, nextAfter: null });

    const one = await http('GET', url(`/api/events/${events[2].id}`), undefined, A.headers);
    expect(one).toMatchObject({ status: 200, body: events[2] });
  });

  it('another application sees none of them and gets 404 for their ids, as for ids that do not exist', async () => {
    await paid(B);
    clock.advance(FEED_DELAY_MS);
    const own = await readAll(null, 200, B);
    expect(own.events.map((e) => e.payment.applicationId)).toEqual([B.applicationId]);
    const theirs = await storedFeed(A.applicationId);
    expect(theirs.length).toBeGreaterThan(0);
    for (const { eventId } of [...theirs, { eventId: randomUUID() }]) {
      const one = await http('GET', url(`/api/events/${eventId}`), undefined, B.headers);
      expect(one).toMatchObject({
        status: 404,
        body: { code: 'EVENT_NOT_FOUND', message: `Event ${eventId} does not exist.` },
      });
      const after = await feed(`?after=${eventId}`, B);
      expect(after).toMatchObject({ status: 404, body: { code: 'EVENT_NOT_FOUND' } });
    }
  });

  it('reads a time range: from inclusive, to exclusive, and continues it with after and the same to', async () => {
    const C = await newTestApplication();
    for (let i = 0; i < 4; i++) {
      await paid(C);
      clock.advance(1000);
    }
    clock.advance(FEED_DELAY_MS);
    const all = (await readAll(null, 200, C)).events;
    expect(all).toHaveLength(4);
    const at = all.map((e) => e.occurredAt); // created_at: the writer stamps both with the same time
    const range = await feed(`?from=${at[1]}&to=${at[3]}`, C);
    expect(range.body).toEqual({ data: [all[1], all[2]], hasMore: false, nextAfter: all[2].id });
    const firstOfRange = await feed(`?from=${at[1]}&to=${at[3]}&limit=1`, C);
    expect(firstOfRange.body).toEqual({ data: [all[1]], hasMore: true, nextAfter: all[1].id });
    const rest = await feed(`?after=${all[1].id}&to=${encodeURIComponent(at[3])}`, C);
    expect(rest.body).toEqual({ data: [all[2]], hasMore: false, nextAfter: all[2].id });
    // An offset names the same instant.
    const shifted = new Date(at[1]).getTime() + 8 * 3600_000;
    const beijing = new Date(shifted).toISOString().replace('Z', '+08:00');
    const same = await feed(`?from=${encodeURIComponent(beijing)}&to=${at[2]}`, C);
    expect(same.body.data).toEqual([all[1]]);
    const empty = await feed(`?from=${at[1]}&to=${at[1]}`, C);
    expect(empty.body).toEqual({ data: [], hasMore: false, nextAfter: null });
  });

  it('refuses bad input with 400 VALIDATION_FAILED and lists nothing', async () => {
    const [event] = (await storedFeed(A.applicationId)).slice(-1);
    const now = new Date().toISOString();
    const bad = [
      '/api/events?after=not-a-uuid',
      `/api/events?after=${event.eventId}x`,
      '/api/events?limit=0',
      '/api/events?limit=201',
      '/api/events?limit=two',
      `/api/events?after=${event.eventId}&from=${now}`,
      `/api/events?from=${now}&to=2020-01-01T00:00:00.000Z`,
      '/api/events?from=2025-03-14T06:30:00', // no zone: the server's would be guessed
      '/api/events?from=yesterday',
      '/api/events?cursor=1',
      '/api/events/not-a-uuid',
      `/api/events/${event.eventId.slice(0, -1)}`,
    ];
    for (const path of bad) {
      const answer = await http('GET', url(path), undefined, A.headers);
      expect({ path, status: answer.status, code: answer.body.code, data: answer.body.data }).toEqual({
        path,
        status: 400,
        code: 'VALIDATION_FAILED',
        data: undefined,
      });
    }
  });

  it('needs the events:read scope: a key without it gets 403 and no events', async () => {
    const without = await newTestApplication({ scopes: API_SCOPES.filter((s) => s !== 'events:read') });
    await db.query('UPDATE api_keys SET application_id = ? WHERE key_id = ?', [A.applicationId, without.keyId]);
    const [event] = await storedFeed(A.applicationId);
    for (const path of ['/api/events', `/api/events/${event.eventId}`]) {
      const answer = await http('GET', url(path), undefined, without.headers);
      expect(answer).toMatchObject({
        status: 403,
        body: { code: 'FORBIDDEN', message: 'This API key lacks the events:read scope.' },
      });
      expect(answer.body.data).toBeUndefined();
    }
    const none = await http('GET', url('/api/events'), undefined, { authorization: '' });
    expect(none.status).toBe(401);
  });

  it('lists an event only once it is EVENTS_FEED_DELAY_MS old (it can be read by id at once)', async () => {
    const D = await newTestApplication();
    const before = await paid(D);
    clock.advance(FEED_DELAY_MS);
    const start = await readAll(null, 50, D);
    expect(start.events.map((e) => e.payment.paymentNo)).toEqual([before]);

    const young = await paid(D);
    const [row] = (await storedFeed(D.applicationId)).slice(-1);
    const notYet = await feed(`?after=${start.cursor}`, D);
    expect(notYet.body).toEqual({ data: [], hasMore: false, nextAfter: null });
    expect((await http('GET', url(`/api/events/${row.eventId}`), undefined, D.headers)).status).toBe(200);
    clock.advance(FEED_DELAY_MS - 500);
    expect((await feed(`?after=${start.cursor}`, D)).body.data).toEqual([]);
    clock.advance(500);
    const listed = await feed(`?after=${start.cursor}`, D);
    expect(listed.body.data.map((e) => e.payment.paymentNo)).toEqual([young]);
  });

  it('after a restart of the partner (and of the app): page, stop, page again from the stored cursor; none twice, none missing', async () => {
    const E = await newTestApplication();
    const paidFirst: string[] = [];
    for (let i = 0; i < 3; i++) paidFirst.push(await paid(E));
    clock.advance(FEED_DELAY_MS);
    // The partner reads one page, stores its cursor, and stops.
    const firstPage = await feed('?limit=2', E);
    expect(firstPage.body.hasMore).toBe(true);
    const stored = firstPage.body.nextAfter!;
    const seen = [...firstPage.body.data];

    // Meanwhile more events, and the app itself restarts.
    const paidLater: string[] = [];
    for (let i = 0; i < 3; i++) paidLater.push(await paid(E));
    await instance.close();
    instance = await startApp(Object.values(fakeGateways()), clock, settings);
    clock.advance(FEED_DELAY_MS);

    const resumed = await readAll(stored, 2, E);
    seen.push(...resumed.events);
    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(seen.map((e) => e.payment.paymentNo)).toEqual([...paidFirst, ...paidLater]);
    expect(ids).toEqual((await storedFeed(E.applicationId)).map((r) => r.eventId));
    // Nothing new: the same cursor again reads nothing and keeps it.
    expect((await feed(`?after=${resumed.cursor}`, E)).body).toEqual({ data: [], hasMore: false, nextAfter: null });
  });

  it("fills the application of events a rolling deploy's older instance wrote without it, and only those", async () => {
    const [ours, none, old] = succeededEvents(3);
    const withApplication = (body: string, applicationId: string | null) =>
      JSON.stringify({ ...JSON.parse(body), payment: { ...JSON.parse(body).payment, applicationId } });
    const now = clock.now();
    const rows: [typeof ours, string | null, Date][] = [
      [ours, A.applicationId, now],
      [none, null, now], // a payment of no application: nothing to fill
      [old, A.applicationId, new Date(now.getTime() - 2 * 86_400_000)], // older than a day: left alone
    ];
    for (const [event, applicationId, at] of rows) {
      await db.query(
        `INSERT INTO outbox_events (event_id, type, payment_no, version, body, occurred_at, next_attempt_at,
           attempts, published_at, created_at) VALUES (?, 'payment.succeeded', ?, 2, ?, ?, ?, 1, ?, ?)`,
        [event.eventId, event.paymentNo, withApplication(event.body, applicationId), at, at, at, at],
      );
    }
    expect(await instance.app.get(EventsPurger).fillApplicationIds()).toBeGreaterThanOrEqual(1);
    const [filled] = await db.query('SELECT event_id, application_id FROM outbox_events WHERE event_id IN (?)', [
      rows.map(([event]) => event.eventId),
    ]);
    expect(
      Object.fromEntries(
        (filled as { event_id: string; application_id: string | null }[]).map((r) => [r.event_id, r.application_id]),
      ),
    ).toEqual({
      [ours.eventId]: A.applicationId,
      [none.eventId]: null,
      [old.eventId]: null,
    });
  });

  describe('the retention purge', () => {
    const DAY = 86_400_000;

    /** Outbox rows of no application, created `ageMs` ago, and one delivery per `deliveries` status. */
    async function insertEvent(ageMs: number, published: boolean, deliveries: string[]): Promise<string> {
      const [event] = succeededEvents(1);
      const at = new Date(clock.now().getTime() - ageMs);
      await db.query(
        `INSERT INTO outbox_events (event_id, type, payment_no, version, body, occurred_at, next_attempt_at,
           attempts, published_at, created_at) VALUES (?, 'payment.succeeded', ?, 2, ?, ?, ?, 1, ?, ?)`,
        [event.eventId, event.paymentNo, event.body, at, at, published ? at : null, at],
      );
      for (const [i, status] of deliveries.entries()) {
        await db.query(
          `INSERT INTO event_deliveries (event_id, partner, event_type, status, attempts, created_at, updated_at)
           VALUES (?, ?, 'payment.succeeded', ?, 1, ?, ?)`,
          [event.eventId, `purge-${i}`, status, at, at],
        );
      }
      return event.eventId;
    }

    const remaining = async (ids: string[]) => {
      const [events] = await db.query('SELECT event_id FROM outbox_events WHERE event_id IN (?)', [ids]);
      const [deliveries] = await db.query('SELECT event_id, status FROM event_deliveries WHERE event_id IN (?)', [ids]);
      return {
        events: (events as { event_id: string }[]).map((r) => r.event_id).sort(),
        deliveries: (deliveries as { event_id: string; status: string }[])
          .map((r) => `${r.event_id}:${r.status}`)
          .sort(),
      };
    };

    it('deletes old published events with their deliveries; keeps unpublished ones, those with a PENDING or FAILED delivery, and young ones', async () => {
      const old = RETENTION_MS + DAY;
      const gone = [
        await insertEvent(old, true, ['PUBLISHED']),
        await insertEvent(old, true, ['PUBLISHED', 'PUBLISHED']),
        await insertEvent(old, true, []),
        ...(await Promise.all(Array.from({ length: 5 }, () => insertEvent(old + 1000, true, ['PUBLISHED'])))),
      ];
      const unpublished = await insertEvent(old, false, ['PENDING']);
      const unpublishedNoDelivery = await insertEvent(old, false, []);
      const pending = await insertEvent(old, true, ['PUBLISHED', 'PENDING']);
      // A FAILED delivery: an operator still has to retry or replay it.
      const failed = await insertEvent(old, true, ['PUBLISHED', 'FAILED']);
      const young = await insertEvent(RETENTION_MS - DAY, true, ['PUBLISHED']);
      const kept = [unpublished, unpublishedNoDelivery, pending, failed, young];

      // Batches of 2: the run goes on until a batch comes back short.
      const purged = await instance.app.get(EventsPurger).purgeExpired(2);
      expect(purged).toBeGreaterThanOrEqual(gone.length);
      expect(await remaining([...gone, ...kept])).toEqual({
        events: [...kept].sort(),
        deliveries: [
          `${unpublished}:PENDING`,
          `${pending}:PUBLISHED`,
          `${pending}:PENDING`,
          `${failed}:PUBLISHED`,
          `${failed}:FAILED`,
          `${young}:PUBLISHED`,
        ].sort(),
      });

      // Once the PENDING and FAILED deliveries are made and the event published, the next run takes them.
      await db.query("UPDATE event_deliveries SET status = 'PUBLISHED' WHERE event_id IN (?)", [
        [pending, unpublished, failed],
      ]);
      await db.query('UPDATE outbox_events SET published_at = created_at WHERE event_id = ?', [unpublished]);
      await instance.app.get(EventsPurger).purgeExpired();
      expect((await remaining(kept)).events).toEqual([unpublishedNoDelivery, young].sort());
    });
  });
});
