import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type DataSource, In } from 'typeorm';
import { Clock } from '../common/clock';
import { withLogContext } from '../common/logging/log-context';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { MetricsService } from '../metrics/metrics.service';
import { AmqpConnection } from './amqp.connection';
import { OutboxEvent } from './outbox.entity';
import { PAYMENT_EVENTS_EXCHANGE, SIGNATURE_HEADER, signatureHeader } from './payment-event';

const MAX_BACKOFF_MS = 60_000;

/**
 * Publishes outbox events to the topic exchange with publisher confirms.
 *
 * - Claim: a short transaction takes due rows with `FOR UPDATE SKIP LOCKED` and leases them (sets
 *   `claimed_by` and moves `next_attempt_at` to the lease end), then commits. Several instances relay at
 *   once without publishing the same row; a crashed instance's rows come due again when the lease ends.
 * - Publish: outside any transaction, persistent, `mandatory`, with a publish timeout, so a broker that is
 *   down or blocked fails the attempt instead of hanging the relay.
 * - Mark: only after the confirm (and no return), and only if the claim is still ours. A crash between
 *   confirm and mark publishes the event again later: consumers deduplicate by event id.
 * - Prompt: `kick()` after a commit publishes at once; polling every RELAY_POLL_INTERVAL_MS is the net.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  readonly instanceId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = true;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(AmqpConnection) private readonly amqp: AmqpConnection,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.relay.enabled) return;
    this.stopped = false;
    this.amqp.publisher(); // connect and declare the topology now, not at the first event
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Publish now: called right after a transaction that wrote outbox rows has committed. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.loop().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.again ? 0 : this.config.relay.pollIntervalMs);
        this.again = false;
      });
    }, delayMs);
  }

  private async loop(): Promise<void> {
    try {
      // Keep draining while full batches come back.
      while (!this.stopped && (await this.runOnce()) === this.config.relay.batchSize);
    } catch (error) {
      this.logger.warn(`relay pass failed: ${(error as Error).message}`);
    }
  }

  /**
   * One claim-publish-mark pass; returns how many events it claimed. The batch's deliveries are read in one
   * query and what the broker confirmed is marked in one transaction: a read and a commit per event made
   * the database, not the broker, the relay's limit (bench/RESULTS.md, outbox relay).
   */
  async runOnce(): Promise<number> {
    const events = await this.claim();
    if (events.length === 0) return 0;
    const pending = await this.pendingPartners(events);
    const sent = await Promise.all(events.map((event) => this.publish(event, pending.get(event.eventId) ?? [])));
    await this.markPublished(events.filter((_, i) => sent[i]));
    return events.length;
  }

  private claim(): Promise<OutboxEvent[]> {
    return inTransaction(this.dataSource, async (manager) => {
      const now = this.clock.now();
      const due = await manager.query<{ id: string }[]>(
        `SELECT id FROM outbox_events
          WHERE published_at IS NULL AND next_attempt_at <= ?
          ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`,
        [now, this.config.relay.batchSize],
      );
      if (due.length === 0) return [];
      const ids = due.map((row) => row.id);
      await manager.query('UPDATE outbox_events SET claimed_by = ?, next_attempt_at = ? WHERE id IN (?)', [
        this.instanceId,
        new Date(now.getTime() + this.config.relay.claimLeaseMs),
        ids,
      ]);
      return manager.getRepository(OutboxEvent).findBy({ id: In(ids) });
    });
  }

  /** Partners each event still has to reach (deliveries not published yet), by event id. */
  private async pendingPartners(events: readonly OutboxEvent[]): Promise<Map<string, string[]>> {
    const rows = await this.dataSource.query<{ event_id: string; partner: string }[]>(
      `SELECT event_id, partner FROM event_deliveries WHERE event_id IN (?) AND status = 'PENDING'`,
      [events.map((event) => event.eventId)],
    );
    const partners = new Map<string, string[]>();
    for (const row of rows) partners.set(row.event_id, [...(partners.get(row.event_id) ?? []), row.partner]);
    return partners;
  }

  /** Sends one event to its pending partners; true when it may be marked published (confirmed, or nothing to send). */
  private publish(event: OutboxEvent, partners: readonly string[]): Promise<boolean> {
    return withLogContext({ eventId: event.eventId, paymentNo: event.paymentNo }, () =>
      this.publishOne(event, partners),
    );
  }

  private async publishOne(event: OutboxEvent, partners: readonly string[]): Promise<boolean> {
    if (partners.length === 0) return true;
    try {
      const keys = this.config.partners.filter((p) => partners.includes(p.name));
      await this.send(PAYMENT_EVENTS_EXCHANGE, event.type, event, keys);
      this.logger.debug(`${event.type} published for ${partners.join(', ')}`);
      return true;
    } catch (error) {
      await this.markFailedAttempt(event, (error as Error).message);
      return false;
    }
  }

  /** Publishes one outbox event and resolves once the broker confirmed it as routed. */
  async send(
    exchange: string,
    routingKey: string,
    event: OutboxEvent,
    keys: readonly { keyId: string; secret: string }[],
  ): Promise<void> {
    const body = Buffer.from(event.body);
    const now = this.clock.now();
    const timestamp = Math.floor(now.getTime() / 1000);
    this.amqp.returned.delete(event.eventId);
    await this.amqp.publisher().publish(exchange, routingKey, body, {
      messageId: event.eventId,
      type: event.type,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      persistent: true,
      mandatory: true,
      timestamp,
      appId: 'payment-center',
      headers: { [SIGNATURE_HEADER]: signatureHeader(timestamp, body, keys) },
    });
    if (this.amqp.returned.delete(event.eventId)) {
      throw new Error(`unroutable: no queue bound for ${routingKey} on ${exchange || 'the default exchange'}`);
    }
  }

  /** Marks the events published, with their deliveries: only those whose claim is still ours. */
  private async markPublished(events: readonly OutboxEvent[]): Promise<void> {
    if (events.length === 0) return;
    const marked = await inTransaction(this.dataSource, async (manager) => {
      const now = this.clock.now();
      // A lease that ran out belongs to the relay that took the row over: leave its rows alone.
      const ours = await manager.query<{ id: string; event_id: string }[]>(
        `SELECT id, event_id FROM outbox_events WHERE id IN (?) AND claimed_by = ? AND published_at IS NULL FOR UPDATE`,
        [events.map((event) => event.id), this.instanceId],
      );
      if (ours.length === 0) return { at: now, ids: new Set<string>() };
      await manager.query(
        `UPDATE outbox_events SET published_at = ?, claimed_by = NULL, attempts = attempts + 1, last_error = NULL
          WHERE id IN (?)`,
        [now, ours.map((row) => row.id)],
      );
      await manager.query(
        `UPDATE event_deliveries SET status = 'PUBLISHED', published_at = ?, attempts = attempts + 1, updated_at = ?
          WHERE event_id IN (?) AND status = 'PENDING'`,
        [now, now, ours.map((row) => row.event_id)],
      );
      return { at: now, ids: new Set(ours.map((row) => String(row.id))) };
    });
    for (const event of events) {
      if (marked.ids.has(String(event.id))) {
        this.metrics.outboxPublished((marked.at.getTime() - event.createdAt.getTime()) / 1000);
      }
    }
  }

  private async markFailedAttempt(event: OutboxEvent, reason: string): Promise<void> {
    const now = this.clock.now();
    const backoff = Math.min(1000 * 2 ** event.attempts, MAX_BACKOFF_MS);
    this.logger.warn(`event ${event.eventId} not published (attempt ${event.attempts + 1}): ${reason}`);
    await this.dataSource.query(
      `UPDATE outbox_events SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_by = NULL
        WHERE id = ? AND claimed_by = ?`,
      [reason.slice(0, 512), new Date(now.getTime() + backoff), event.id, this.instanceId],
    );
  }
}
