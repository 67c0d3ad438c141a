import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { EntityRows } from '../database/entity-rows';
import { type DeliveryStatus, EventDelivery, OutboxEvent } from './outbox.entity';

/** What the relay reads of a claimed outbox row. */
export type ClaimedEvent = Pick<
  OutboxEvent,
  'id' | 'eventId' | 'type' | 'paymentNo' | 'body' | 'attempts' | 'createdAt'
>;

/** What the webhook dispatcher reads of a claimed delivery. */
export interface ClaimedDelivery {
  id: string;
  eventId: string;
  partner: string;
  createdAt: Date;
  attempts: number;
  scheduleStep: number;
}

/** Which deliveries: every field narrows; `from` inclusive, `to` exclusive (created at). */
export interface DeliveryFilter {
  status?: DeliveryStatus;
  partner?: string;
  eventType?: string;
  from?: Date;
  to?: Date;
  limit?: number;
}

/** One page of an application's events: `after` is the cursor (created_at, id) of the event the page follows. */
export interface EventFeedQuery {
  applicationId: string;
  after?: { createdAt: Date; id: string };
  /** created_at >= from */
  from?: Date;
  /** created_at < to */
  to?: Date;
  /** created_at <= listedUntil: the feed delay (see EventsFeedService). */
  listedUntil: Date;
  limit: number;
}

/** What the events API reads of an event: its stored body, and the cursor of the next page. */
export type FeedEvent = Pick<OutboxEvent, 'id' | 'eventId' | 'body' | 'createdAt'>;

/**
 * All SQL on the outbox (outbox_events) and its delivery records (event_deliveries): plain statements
 * (EntityRows), one per step. Methods named claim* and lock* take row locks and need the caller's
 * transaction; the mark* methods are conditional updates that say what they still require of the row.
 */
@Injectable()
export class OutboxRepository {
  private readonly events: EntityRows<OutboxEvent>;
  private readonly deliveries: EntityRows<EventDelivery>;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.events = new EntityRows(dataSource, OutboxEvent);
    this.deliveries = new EntityRows(dataSource, EventDelivery);
  }

  // Writing events (in the transaction of the change they announce)

  async insertEvent(manager: EntityManager, event: OutboxEvent): Promise<void> {
    await this.events.insert(manager, event);
  }

  /**
   * The next number of an order's events (1 for its first), in the caller's transaction: one statement that
   * creates or increments the order's counter row and returns the new value (LAST_INSERT_ID(expr)). The row
   * stays locked until the caller commits, so the numbers of one order follow the order its events commit in.
   * Taken after the caller's own row locks (the event is written last), so it never waits while holding
   * the counter of another order or before a payment lock.
   */
  async nextOrderSequence(manager: EntityManager, orderNo: string): Promise<number> {
    const result = await this.events.run<{ insertId: number | string }>(
      manager,
      `INSERT INTO order_event_sequences (order_no, last_sequence) VALUES (?, LAST_INSERT_ID(1))
         ON DUPLICATE KEY UPDATE last_sequence = LAST_INSERT_ID(last_sequence + 1)`,
      [orderNo],
    );
    return Number(result.insertId);
  }

  async insertDeliveries(manager: EntityManager, deliveries: EventDelivery[]): Promise<void> {
    await this.deliveries.insertMany(manager, deliveries);
  }

  // The relay

  /**
   * Up to `limit` due unpublished events, oldest first, locked FOR UPDATE SKIP LOCKED (rows another relay
   * holds are passed over, not waited for), then leased to `instanceId` until `leaseUntil`.
   */
  async claimDueSkippingLocked(
    manager: EntityManager,
    claim: { now: Date; limit: number; instanceId: string; leaseUntil: Date },
  ): Promise<ClaimedEvent[]> {
    const due = await this.events.run<ClaimedEvent[]>(
      manager,
      `SELECT id, event_id AS eventId, type, payment_no AS paymentNo, body, attempts, created_at AS createdAt
         FROM outbox_events
        WHERE published_at IS NULL AND next_attempt_at <= ?
        ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`,
      [claim.now, claim.limit],
    );
    if (due.length === 0) return [];
    await this.events.run(manager, 'UPDATE outbox_events SET claimed_by = ?, next_attempt_at = ? WHERE id IN (?)', [
      claim.instanceId,
      claim.leaseUntil,
      due.map((row) => row.id),
    ]);
    return due;
  }

  /**
   * The queue deliveries of `eventIds` not published yet (a plain read, after the claim has committed). A webhook
   * partner's deliveries, on their own schedule (next_attempt_at set), are the webhook dispatcher's.
   */
  pendingDeliveriesOf(eventIds: readonly string[]): Promise<{ id: string; event_id: string; partner: string }[]> {
    return this.deliveries.run(
      undefined,
      `SELECT id, event_id, partner FROM event_deliveries
        WHERE event_id IN (?) AND status = 'PENDING' AND next_attempt_at IS NULL`,
      [eventIds],
    );
  }

  /**
   * Delivery rows the broker confirmed, still PENDING: PUBLISHED. In the relay's marking transaction, or on
   * their own when the other sends of their event failed.
   */
  async markDeliveriesPublished(manager: EntityManager | undefined, ids: readonly string[], now: Date): Promise<void> {
    await this.deliveries.run(
      manager,
      `UPDATE event_deliveries SET status = 'PUBLISHED', published_at = ?, attempts = attempts + 1, updated_at = ?
        WHERE id IN (?) AND status = 'PENDING'`,
      [now, now, ids],
    );
  }

  /** A delivery the relay will not send (its partner no longer takes the event), still PENDING: FAILED. */
  async markDeliveryRefused(id: string, reason: string, now: Date): Promise<void> {
    await this.deliveries.run(
      undefined,
      `UPDATE event_deliveries SET status = 'FAILED', failed_at = ?, last_error = ?, updated_at = ?
        WHERE id = ? AND status = 'PENDING'`,
      [now, reason.slice(0, 512), now, id],
    );
  }

  /**
   * Events the broker confirmed, only while the claim is still `instanceId`'s. Returns how many rows the
   * WHERE matched (mysql2 connects with CLIENT_FOUND_ROWS).
   */
  async markEventsPublished(
    manager: EntityManager,
    ids: readonly string[],
    instanceId: string,
    now: Date,
  ): Promise<number> {
    const marked = await this.events.run<{ affectedRows: number }>(
      manager,
      `UPDATE outbox_events SET published_at = ?, claimed_by = NULL, attempts = attempts + 1, last_error = NULL
        WHERE id IN (?) AND claimed_by = ? AND published_at IS NULL`,
      [now, ids, instanceId],
    );
    return marked.affectedRows;
  }

  /** A publish that failed: the event comes due again at `nextAttemptAt`, if the claim is still ours. */
  async markEventAttemptFailed(id: string, instanceId: string, reason: string, nextAttemptAt: Date): Promise<void> {
    await this.events.run(
      undefined,
      `UPDATE outbox_events SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_by = NULL
        WHERE id = ? AND claimed_by = ?`,
      [reason.slice(0, 512), nextAttemptAt, id, instanceId],
    );
  }

  findEvent(eventId: string): Promise<OutboxEvent | null> {
    return this.events.selectOne(undefined, 'event_id = ?', [eventId]);
  }

  // Webhook deliveries (each on its own schedule: event_deliveries.next_attempt_at)

  /**
   * Up to `limit` of a webhook partner's due PENDING deliveries, oldest due first, locked FOR UPDATE SKIP LOCKED
   * (another dispatcher's are passed over) and leased to `instanceId` until `leaseUntil`. Only delivery rows are
   * locked: the event rows stay free for the outbox relay.
   */
  async claimDueWebhookDeliveries(
    manager: EntityManager,
    claim: { partner: string; now: Date; limit: number; instanceId: string; leaseUntil: Date },
  ): Promise<ClaimedDelivery[]> {
    const due = await this.deliveries.run<ClaimedDelivery[]>(
      manager,
      `SELECT id, event_id AS eventId, partner, attempts, schedule_step AS scheduleStep, created_at AS createdAt
         FROM event_deliveries
        WHERE partner = ? AND status = 'PENDING' AND next_attempt_at <= ?
        ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`,
      [claim.partner, claim.now, claim.limit],
    );
    if (due.length === 0) return [];
    await this.deliveries.run(
      manager,
      'UPDATE event_deliveries SET claimed_by = ?, next_attempt_at = ? WHERE id IN (?)',
      [claim.instanceId, claim.leaseUntil, due.map((row) => row.id)],
    );
    return due;
  }

  /** The type and body of each of `eventIds` (a plain read, after a claim has committed). */
  eventBodies(eventIds: readonly string[]): Promise<{ eventId: string; type: string; body: string }[]> {
    return this.events.run(
      undefined,
      'SELECT event_id AS eventId, type, body FROM outbox_events WHERE event_id IN (?)',
      [eventIds],
    );
  }

  /** Webhook deliveries their partner answered 2xx, still PENDING: PUBLISHED (also when a lease ran out meanwhile). */
  async markWebhooksDelivered(ids: readonly string[], now: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.deliveries.run(
      undefined,
      `UPDATE event_deliveries SET status = 'PUBLISHED', published_at = ?, attempts = attempts + 1, last_error = NULL,
              claimed_by = NULL, updated_at = ? WHERE id IN (?) AND status = 'PENDING'`,
      [now, now, ids],
    );
  }

  /**
   * A webhook send that failed, while the claim is still `instanceId`'s: due again at `nextAttemptAt` one step
   * further along the schedule, or, with no `nextAttemptAt` (the schedule ran out), FAILED.
   */
  async markWebhookAttemptFailed(
    id: string,
    instanceId: string,
    reason: string,
    now: Date,
    nextAttemptAt: Date | null,
  ): Promise<void> {
    await this.deliveries.run(
      undefined,
      nextAttemptAt
        ? `UPDATE event_deliveries SET attempts = attempts + 1, schedule_step = schedule_step + 1, last_error = ?,
                  next_attempt_at = ?, claimed_by = NULL, updated_at = ?
            WHERE id = ? AND claimed_by = ? AND status = 'PENDING'`
        : `UPDATE event_deliveries SET attempts = attempts + 1, schedule_step = schedule_step + 1, last_error = ?,
                  status = 'FAILED', failed_at = ?, claimed_by = NULL, updated_at = ?
            WHERE id = ? AND claimed_by = ? AND status = 'PENDING'`,
      [reason.slice(0, 512), nextAttemptAt ?? now, now, id, instanceId],
    );
  }

  /**
   * A reopened delivery of a partner that takes webhooks now: due now, at the start of a new round (`webhook`),
   * or, for a queue partner now, off the webhook schedule so the relay's send is the only one.
   */
  async setDeliveryTransport(id: string, webhook: boolean, now: Date): Promise<void> {
    await this.deliveries.run(
      undefined,
      `UPDATE event_deliveries SET next_attempt_at = ?, schedule_step = 0, claimed_by = NULL, updated_at = ?
        WHERE id = ? AND status = 'PENDING'`,
      [webhook ? now : null, now, id],
    );
  }

  /**
   * PENDING webhook deliveries of partners that are not webhook partners (any more): FAILED with the reason, so
   * an operator sees them and a retry sends them by the partner's transport now. Returns how many.
   */
  async failOrphanWebhookDeliveries(webhookPartners: readonly string[], now: Date): Promise<number> {
    // A plain read finds them, then an UPDATE by primary key re-checks each: an UPDATE whose WHERE scanned every
    // PENDING delivery would lock that whole index range, gaps included, and hold up every new delivery's insert
    // while it waited for one row a relay or a dispatcher holds.
    const partnerFilter = webhookPartners.length > 0 ? 'AND partner NOT IN (?)' : '';
    const partnerValues = webhookPartners.length > 0 ? [webhookPartners] : [];
    const orphans = await this.deliveries.run<{ id: string }[]>(
      undefined,
      `SELECT id FROM event_deliveries WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL ${partnerFilter}
        LIMIT 1000`,
      partnerValues,
    );
    if (orphans.length === 0) return 0;
    const result = await this.deliveries.run<{ affectedRows: number }>(
      undefined,
      `UPDATE event_deliveries SET status = 'FAILED', failed_at = ?, claimed_by = NULL, updated_at = ?,
              last_error = CONCAT('not sent: partner ', partner, ' is no longer a webhook partner (PARTNERS); retry to send it by its transport now')
        WHERE id IN (?) AND status = 'PENDING' AND next_attempt_at IS NOT NULL ${partnerFilter}`,
      [now, now, orphans.map((o) => o.id), ...partnerValues],
    );
    return result.affectedRows;
  }

  /** Gives back claims not sent (the dispatcher stopped first): due again now, no attempt spent. */
  async releaseWebhookClaims(ids: readonly string[], instanceId: string, now: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.deliveries.run(
      undefined,
      `UPDATE event_deliveries SET claimed_by = NULL, next_attempt_at = ?
        WHERE id IN (?) AND claimed_by = ? AND status = 'PENDING'`,
      [now, ids, instanceId],
    );
  }

  /**
   * Pending deliveries the relay found for a partner that is a webhook partner now (PARTNERS changed since the
   * event was written): put on the webhook schedule, due now.
   */
  async handOverToWebhook(ids: readonly string[], now: Date): Promise<void> {
    await this.deliveries.run(
      undefined,
      `UPDATE event_deliveries SET next_attempt_at = COALESCE(next_attempt_at, ?), updated_at = ?
        WHERE id IN (?) AND status = 'PENDING'`,
      [now, now, ids],
    );
  }

  // Replays

  /**
   * Up to `limit` events created in [from, to), after the row `afterRowId`, in row order: what a replay looks
   * through (whether the partner takes each is the partner filter's, in code).
   */
  eventsForReplay(range: {
    from: Date;
    to: Date;
    afterRowId: string;
    limit: number;
  }): Promise<{ id: string; eventId: string; type: string; applicationId: string | null }[]> {
    return this.events.run(
      undefined,
      `SELECT id, event_id AS eventId, type, application_id AS applicationId FROM outbox_events
        WHERE created_at >= ? AND created_at < ? AND id > ? ORDER BY id LIMIT ?`,
      [range.from, range.to, range.afterRowId, range.limit],
    );
  }

  /**
   * A replay's deliveries for `partner`: created, or put back to PENDING (event id, body and version are the
   * event's own, so a deduplicating partner applies nothing twice). `nextAttemptAt`: a webhook partner's, due
   * now at the start of a new round; null for a queue partner's, which goes with its event (reopenEventsForReplay).
   */
  async upsertReplayDeliveries(
    manager: EntityManager,
    partner: string,
    events: readonly { eventId: string; type: string }[],
    nextAttemptAt: Date | null,
    now: Date,
  ): Promise<void> {
    if (events.length === 0) return;
    await this.deliveries.run(
      manager,
      `INSERT INTO event_deliveries (event_id, partner, event_type, status, attempts, next_attempt_at, claimed_by,
                                     schedule_step, created_at, updated_at)
       VALUES ? ON DUPLICATE KEY UPDATE status = 'PENDING', next_attempt_at = VALUES(next_attempt_at),
              claimed_by = NULL, schedule_step = 0, failed_at = NULL, updated_at = VALUES(updated_at)`,
      [events.map((e) => [e.eventId, partner, e.type, 'PENDING', 0, nextAttemptAt, null, 0, now, now])],
    );
  }

  /**
   * Those of `eventIds` still kept, locked in share mode until the caller's transaction ends: a replay writes
   * deliveries only for events the retention purge cannot delete under it.
   */
  async lockKeptEvents(manager: EntityManager, eventIds: readonly string[]): Promise<string[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.events.run<{ eventId: string }[]>(
      manager,
      'SELECT event_id AS eventId FROM outbox_events WHERE event_id IN (?) LOCK IN SHARE MODE',
      [eventIds],
    );
    return rows.map((row) => row.eventId);
  }

  /** Events a queue partner's replay reopened: the relay takes them again and sends their PENDING deliveries. */
  async reopenEventsForReplay(manager: EntityManager, eventIds: readonly string[], now: Date): Promise<void> {
    if (eventIds.length === 0) return;
    await this.events.run(
      manager,
      `UPDATE outbox_events SET published_at = NULL, next_attempt_at = ?, claimed_by = NULL WHERE event_id IN (?)`,
      [now, eventIds],
    );
  }

  // Deliveries: operators' list and retry, the dead-letter watcher

  listDeliveries(filter: DeliveryFilter, defaultLimit: number): Promise<EventDelivery[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      where.push(clause);
      values.push(value);
    };
    if (filter.status) add('status = ?', filter.status);
    if (filter.partner) add('partner = ?', filter.partner);
    if (filter.eventType) add('event_type = ?', filter.eventType);
    if (filter.from) add('created_at >= ?', filter.from);
    if (filter.to) add('created_at < ?', filter.to);
    values.push(filter.limit ?? defaultLimit);
    return this.deliveries.select(
      undefined,
      where.length ? where.join(' AND ') : 'TRUE',
      values,
      'ORDER BY id ASC LIMIT ?',
    );
  }

  findDelivery(id: string): Promise<EventDelivery | null> {
    return this.deliveries.selectOne(undefined, 'id = ?', [id]);
  }

  /** Those of `ids` still FAILED, under their row locks (a concurrent retry waits, then finds them PENDING). */
  lockFailedDeliveries(manager: EntityManager, ids: readonly string[]): Promise<EventDelivery[]> {
    return this.deliveries.select(manager, "id IN (?) AND status = 'FAILED'", [ids], 'ORDER BY id ASC FOR UPDATE');
  }

  /**
   * FAILED → PENDING for rows the caller locked: a retry claims them, off any webhook schedule until the retry
   * puts it on its partner's transport (setDeliveryTransport).
   */
  async reopenDeliveries(manager: EntityManager, ids: readonly string[], now: Date): Promise<void> {
    await this.deliveries.run(
      manager,
      `UPDATE event_deliveries SET status = 'PENDING', updated_at = ?, claimed_by = NULL, schedule_step = 0,
              next_attempt_at = NULL
        WHERE id IN (?)`,
      [now, ids],
    );
  }

  /** A retried delivery the broker confirmed, still PENDING: PUBLISHED. */
  async markRetryPublished(id: string, now: Date): Promise<void> {
    await this.deliveries.run(
      undefined,
      `UPDATE event_deliveries SET status = 'PUBLISHED', published_at = ?, attempts = attempts + 1,
              last_error = NULL, updated_at = ? WHERE id = ? AND status = 'PENDING'`,
      [now, now, id],
    );
  }

  /** A retried delivery that failed, still PENDING: FAILED again, for the operators' list. */
  async markRetryFailed(id: string, reason: string, now: Date): Promise<void> {
    await this.deliveries.run(
      undefined,
      `UPDATE event_deliveries SET status = 'FAILED', last_error = ?, updated_at = ? WHERE id = ? AND status = 'PENDING'`,
      [reason.slice(0, 512), now, id],
    );
  }

  /** A partner's queue dead-lettered the event: its delivery is FAILED. Returns how many rows were marked. */
  async markDeadLettered(eventId: string, partner: string, reason: string, now: Date): Promise<number> {
    const marked = await this.deliveries.run<{ affectedRows: number }>(
      undefined,
      `UPDATE event_deliveries SET status = 'FAILED', failed_at = ?, updated_at = ?, last_error = ?
        WHERE event_id = ? AND partner = ?`,
      [now, now, reason.slice(0, 512), eventId, partner],
    );
    return marked.affectedRows;
  }

  // Gauges (read when Prometheus scrapes)

  async unpublishedSummary(): Promise<{ unpublished: number; oldest: Date | null }> {
    const [row] = await this.events.run<{ n: string | number; oldest: Date | null }[]>(
      undefined,
      'SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox_events WHERE published_at IS NULL',
      [],
    );
    return { unpublished: Number(row.n), oldest: row.oldest };
  }

  /** Webhook deliveries not made yet, per partner, with the oldest one's creation (index: status, partner, created_at). */
  async webhookBacklogByPartner(): Promise<{ partner: string; pending: number; oldest: Date | null }[]> {
    const rows = await this.deliveries.run<{ partner: string; n: string | number; oldest: Date | null }[]>(
      undefined,
      `SELECT partner, COUNT(*) AS n, MIN(created_at) AS oldest FROM event_deliveries
        WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL GROUP BY partner`,
      [],
    );
    return rows.map((row) => ({ partner: row.partner, pending: Number(row.n), oldest: row.oldest }));
  }

  async failedDeliveriesByPartner(): Promise<{ partner: string; count: number }[]> {
    const rows = await this.deliveries.run<{ partner: string; n: string | number }[]>(
      undefined,
      `SELECT partner, COUNT(*) AS n FROM event_deliveries WHERE status = 'FAILED' GROUP BY partner`,
      [],
    );
    return rows.map((row) => ({ partner: row.partner, count: Number(row.n) }));
  }

  // ---------------------------------------------------------------------------------------------------------
  // The events API (GET /api/events): an application's own events, oldest first, and their retention purge.
  // Reads go through ix_outbox_application_feed (application_id, created_at, id).
  // ---------------------------------------------------------------------------------------------------------

  /** The event `eventId` if it belongs to `applicationId` (another application's is as good as unknown). */
  async findEventOf(applicationId: string, eventId: string): Promise<FeedEvent | null> {
    const [row] = await this.events.run<FeedEvent[]>(
      undefined,
      `SELECT id, event_id AS eventId, body, created_at AS createdAt
         FROM outbox_events WHERE event_id = ? AND application_id = ?`,
      [eventId, applicationId],
    );
    return row ?? null;
  }

  /**
   * Up to `limit` events of the application, ordered by (created_at, id), strictly after the cursor `after`,
   * within [from, to) and created at or before `listedUntil`. The cursor comparison is spelled out (not a row
   * constructor) so MariaDB ranges over the index.
   */
  listFeed(query: EventFeedQuery): Promise<FeedEvent[]> {
    const where = ['application_id = ?', 'created_at <= ?'];
    const values: unknown[] = [query.applicationId, query.listedUntil];
    if (query.after) {
      where.push('(created_at > ? OR (created_at = ? AND id > ?))');
      values.push(query.after.createdAt, query.after.createdAt, query.after.id);
    }
    if (query.from) {
      where.push('created_at >= ?');
      values.push(query.from);
    }
    if (query.to) {
      where.push('created_at < ?');
      values.push(query.to);
    }
    values.push(query.limit);
    return this.events.run<FeedEvent[]>(
      undefined,
      `SELECT id, event_id AS eventId, body, created_at AS createdAt FROM outbox_events
        WHERE ${where.join(' AND ')} ORDER BY created_at, id LIMIT ?`,
      values,
    );
  }

  /**
   * Fills `application_id` of recent events written without it (by an instance of the version before the column,
   * during a rolling deploy) from their bodies, up to `limit`; returns how many. Events of payments of no
   * application have none in their bodies and are not touched.
   */
  async fillMissingApplicationIds(since: Date, limit: number): Promise<number> {
    // Read first, then update by primary key: an UPDATE ranging over the last day's events would lock the range up
    // to its end and hold up every new event's insert behind any row a relay holds.
    const missing = await this.events.run<{ id: string }[]>(
      undefined,
      `SELECT id FROM outbox_events WHERE application_id IS NULL AND created_at >= ?
          AND JSON_TYPE(JSON_EXTRACT(body, '$.payment.applicationId')) = 'STRING'
        LIMIT ?`,
      [since, limit],
    );
    if (missing.length === 0) return 0;
    const result = await this.events.run<{ affectedRows: number }>(
      undefined,
      `UPDATE outbox_events SET application_id = JSON_UNQUOTE(JSON_EXTRACT(body, '$.payment.applicationId'))
        WHERE id IN (?) AND application_id IS NULL`,
      [missing.map((m) => m.id)],
    );
    return result.affectedRows;
  }

  /**
   * Deletes up to `batchSize` events created before `olderThan` that are published and whose every delivery was
   * made, with their delivery rows; returns how many events went. An unpublished event (the relay still owes
   * it), one with a PENDING delivery (a webhook's schedule, an operator's retry) or a FAILED one (an operator
   * still has to retry or replay it: the alert stays until then) is never deleted.
   *
   * The candidates come from a plain read, then only they are locked, by primary key (SKIP LOCKED: a row someone
   * holds waits for the next run), and every delivery of theirs is locked and read again: an operator's retry that
   * reopened a FAILED delivery (PENDING) before our lock keeps its event, and one that comes after finds the rows
   * gone. A locking read over the `published_at` range instead would hold its gaps (an unpublished event sorts
   * first there) and with them every new event's insert, for as long as the batch ran.
   *
   * The scan ranges over ix_outbox_due by published_at (published at or after creation, so published before
   * `olderThan` implies created before it): a run costs the rows it deletes and the few old ones it keeps, not
   * the whole table (there is no index on created_at alone). An event published late is kept that much longer.
   */
  async purgePublishedBefore(manager: EntityManager, olderThan: Date, batchSize: number): Promise<number> {
    const found = await this.events.run<{ id: string }[]>(
      manager,
      `SELECT e.id FROM outbox_events e
        WHERE e.published_at < ? AND e.created_at < ?
          AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.event_id AND d.status <> 'PUBLISHED')
        ORDER BY e.published_at, e.id LIMIT ?`,
      [olderThan, olderThan, batchSize],
    );
    if (found.length === 0) return 0;
    const candidates = await this.events.run<{ id: string; eventId: string }[]>(
      manager,
      `SELECT id, event_id AS eventId FROM outbox_events
        WHERE id IN (?) AND published_at < ? AND created_at < ? FOR UPDATE SKIP LOCKED`,
      [found.map((f) => f.id), olderThan, olderThan],
    );
    if (candidates.length === 0) return 0;
    const deliveries = await this.deliveries.run<{ eventId: string; status: DeliveryStatus }[]>(
      manager,
      'SELECT event_id AS eventId, status FROM event_deliveries WHERE event_id IN (?) FOR UPDATE',
      [candidates.map((c) => c.eventId)],
    );
    const pending = new Set(deliveries.filter((d) => d.status !== 'PUBLISHED').map((d) => d.eventId));
    const doomed = candidates.filter((c) => !pending.has(c.eventId));
    if (doomed.length === 0) return 0;
    await this.deliveries.run(manager, 'DELETE FROM event_deliveries WHERE event_id IN (?)', [
      doomed.map((c) => c.eventId),
    ]);
    const deleted = await this.events.run<{ affectedRows: number }>(
      manager,
      'DELETE FROM outbox_events WHERE id IN (?) AND published_at IS NOT NULL',
      [doomed.map((c) => c.id)],
    );
    return deleted.affectedRows;
  }
}
