import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from '../database/transaction';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import type { EventDelivery } from './outbox.entity';
import { OutboxRelay } from './outbox.relay';
import { type DeliveryFilter, OutboxRepository } from './outbox.repository';
import { whyNotDelivered } from './partner-filter';
import { isWebhookPartner } from '../config/setting-values';
import { applicationOfEvent, partnerQueue } from './payment-event';
import { WebhookDispatcher } from './webhook/webhook.dispatcher';

export type { DeliveryFilter };

export class DeliveryNotFound extends DomainError {
  readonly code = 'DELIVERY_NOT_FOUND';
  constructor(id: string) {
    super(`Delivery ${id} does not exist.`);
  }
}

export class DeliveryNotRetryable extends DomainError {
  readonly code = 'DELIVERY_NOT_RETRYABLE';
  constructor(id: string, status: string) {
    super(`Delivery ${id} is ${status}; only FAILED deliveries can be retried.`);
  }
}

export class PartnerNotFound extends DomainError {
  readonly code = 'PARTNER_NOT_FOUND';
  constructor(name: string) {
    super(`Partner ${name} is not in PARTNERS.`);
  }
}

export class ReplayTooLarge extends DomainError {
  readonly code = 'REPLAY_TOO_LARGE';
  constructor(matched: number) {
    super(
      `The replay matches more than ${MAX_REPLAY_EVENTS} events (${matched} seen); replay a narrower time range, ` +
        'one after the other.',
    );
  }
}

export class ReplayStartUnknown extends DomainError {
  readonly code = 'REPLAY_START_NOT_FOUND';
  constructor(eventId: string) {
    super(`Event ${eventId} is not kept (never written, or older than EVENTS_RETENTION).`);
  }
}

/** The most events one replay re-delivers; more is refused (a narrower range, or several, will do). */
export const MAX_REPLAY_EVENTS = 10_000;
const REPLAY_CHUNK = 500;

/** Which events a replay re-delivers: created in [from, to), or after `afterEventId` (until `to`). */
export interface ReplayRange {
  from?: Date;
  to?: Date;
  afterEventId?: string;
}

/**
 * Records one retry for the operator who asked: with `manager`, in the transaction of the claim it
 * describes, so the claim and its record commit or roll back together.
 */
export type RetryAudit = (action: string, target: object, affected: number, manager?: EntityManager) => Promise<void>;

export interface DeliveryView {
  id: string;
  eventId: string;
  partner: string;
  eventType: string;
  status: string;
  attempts: number;
  lastError: string | null;
  publishedAt: string | null;
  failedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const view = (d: EventDelivery): DeliveryView => ({
  id: d.id,
  eventId: d.eventId,
  partner: d.partner,
  eventType: d.eventType,
  status: d.status,
  attempts: d.attempts,
  lastError: d.lastError,
  publishedAt: iso(d.publishedAt),
  failedAt: iso(d.failedAt),
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
});

/**
 * Operators' view of deliveries and the retry of failed ones. A retry republishes the same event (same id,
 * same version, same body) to that partner's queue only, freshly signed, if the partner still takes it; a
 * webhook partner's delivery starts a new round of its schedule, due now. Only FAILED deliveries can be
 * retried, and a retry first moves the row FAILED → PENDING with a conditional update, so two operators
 * retrying at once publish it once. Every retry is recorded through the caller's RetryAudit (the admin
 * API's audit log), the claim and its record in one transaction.
 */
@Injectable()
export class DeliveriesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(OutboxRelay) private readonly relay: OutboxRelay,
    @Inject(OutboxRepository) private readonly outbox: OutboxRepository,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(WebhookDispatcher) private readonly webhooks: WebhookDispatcher,
  ) {}

  async list(filter: DeliveryFilter): Promise<DeliveryView[]> {
    return (await this.outbox.listDeliveries(filter, 100)).map(view);
  }

  async retryOne(id: string, audit: RetryAudit): Promise<DeliveryView> {
    const delivery = await this.outbox.findDelivery(id);
    if (!delivery) throw new DeliveryNotFound(id);
    if (delivery.status !== 'FAILED') throw new DeliveryNotRetryable(id, delivery.status);
    // The claim (FAILED → PENDING) and its audit row commit together; the publish runs after, outside. A retry
    // that finds it taken by another just now is recorded too, with 0.
    const claimed = await this.claim([delivery], (manager, ids) =>
      audit('delivery.retry', { id }, ids.length, manager),
    );
    for (const one of claimed) await this.send(one);
    const after = await this.outbox.findDelivery(id);
    if (!after) throw new DeliveryNotFound(id);
    return view(after);
  }

  async retryMany(
    filter: DeliveryFilter,
    dryRun: boolean,
    audit: RetryAudit,
  ): Promise<{ matched: number; retried: number; dryRun: boolean }> {
    const failed = await this.outbox.listDeliveries({ ...filter, status: 'FAILED' }, 1000);
    if (dryRun) {
      await audit('delivery.retry_bulk.dry_run', filter, failed.length);
      return { matched: failed.length, retried: 0, dryRun };
    }
    // Every claim and the one audit row (the filter, the ids it claimed, how many, who) commit together, also
    // when it claims none (nothing matched, or a concurrent retry took them): every bulk retry leaves its row.
    // The publishes follow.
    const claimed = await this.claim(failed, (manager, ids) =>
      audit('delivery.retry_bulk', { ...filter, ids }, ids.length, manager),
    );
    let retried = 0;
    for (const delivery of claimed) if (await this.send(delivery)) retried += 1;
    return { matched: failed.length, retried, dryRun };
  }

  /**
   * Re-delivers to `partnerName` the events of the range it takes (its bindings and applications as PARTNERS has
   * them now), whatever their deliveries' state: each delivery is created or put back to PENDING, keeping the
   * event's id, version and body, so a partner that deduplicates applies nothing twice. A webhook partner's
   * start a new round of its schedule; a queue partner's events are reopened for the relay, which sends to that
   * partner's queue only. `dryRun` counts and changes nothing. Audited (one row: partner, range, count), in the
   * transaction of the first writes.
   */
  async replay(
    partnerName: string,
    range: ReplayRange,
    dryRun: boolean,
    audit: RetryAudit,
  ): Promise<{ partner: string; matched: number; replayed: number; dryRun: boolean }> {
    const partner = this.config.partners.find((p) => p.name === partnerName);
    if (!partner) throw new PartnerNotFound(partnerName);
    const now = this.clock.now();
    let afterRowId = '0';
    if (range.afterEventId) {
      const start = await this.outbox.findEvent(range.afterEventId);
      if (!start) throw new ReplayStartUnknown(range.afterEventId);
      afterRowId = start.id;
    }
    const scope = { from: range.from ?? new Date(0), to: range.to ?? now };
    const matched: { eventId: string; type: string }[] = [];
    for (;;) {
      const page = await this.outbox.eventsForReplay({ ...scope, afterRowId, limit: 1000 });
      for (const event of page) {
        if (!whyNotDelivered(partner, { type: event.type, applicationId: event.applicationId })) matched.push(event);
      }
      if (matched.length > MAX_REPLAY_EVENTS) throw new ReplayTooLarge(matched.length);
      if (page.length < 1000) break;
      afterRowId = page[page.length - 1].id;
    }
    const target = { partner: partner.name, ...range, matched: matched.length };
    if (dryRun) {
      await audit('partner.replay.dry_run', target, matched.length);
      return { partner: partner.name, matched: matched.length, replayed: 0, dryRun };
    }
    const webhook = isWebhookPartner(partner);
    let replayed = 0;
    for (let i = 0; i === 0 || i < matched.length; i += REPLAY_CHUNK) {
      const chunk = matched.slice(i, i + REPLAY_CHUNK);
      replayed += await inTransaction(this.dataSource, async (manager) => {
        // Only events still kept, held against the retention purge until the deliveries are written.
        const kept = new Set(
          await this.outbox.lockKeptEvents(
            manager,
            chunk.map((e) => e.eventId),
          ),
        );
        const events = chunk.filter((e) => kept.has(e.eventId));
        await this.outbox.upsertReplayDeliveries(manager, partner.name, events, webhook ? now : null, now);
        if (!webhook) {
          await this.outbox.reopenEventsForReplay(
            manager,
            events.map((e) => e.eventId),
            now,
          );
        }
        if (i === 0) await audit('partner.replay', target, matched.length, manager);
        return events.length;
      });
    }
    if (webhook) this.webhooks.kick();
    else this.relay.kick();
    return { partner: partner.name, matched: matched.length, replayed, dryRun };
  }

  /**
   * FAILED → PENDING for those of `deliveries` still FAILED (read under their row locks, so a concurrent retry
   * claims each at most once), with `record` of the ids claimed (perhaps none) in the same transaction. Returns
   * the ones claimed.
   */
  private async claim(
    deliveries: EventDelivery[],
    record: (manager: EntityManager, ids: string[]) => Promise<void>,
  ): Promise<EventDelivery[]> {
    return inTransaction(this.dataSource, async (manager) => {
      const still =
        deliveries.length === 0
          ? []
          : await this.outbox.lockFailedDeliveries(
              manager,
              deliveries.map((d) => d.id),
            );
      const ids = still.map((d) => d.id);
      if (ids.length > 0) await this.outbox.reopenDeliveries(manager, ids, this.clock.now());
      await record(manager, ids);
      return still;
    });
  }

  /**
   * Publishes a claimed (PENDING) delivery's event to its partner's queue; true when the broker confirmed it. A
   * partner that takes webhooks now has it due now at the start of a new round: the dispatcher sends it, within
   * the partner's concurrency and circuit, and the answer shows it PENDING until then.
   */
  private async send(delivery: EventDelivery): Promise<boolean> {
    const event = await this.outbox.findEvent(delivery.eventId);
    if (!event) throw new Error(`event ${delivery.eventId} of delivery ${delivery.id} is missing from the outbox`);
    const partner = this.config.partners.find((p) => p.name === delivery.partner);
    try {
      if (!partner) throw new Error(`partner ${delivery.partner} is no longer configured`);
      // A partner restricted since to other applications must not get this one's event, not even on request.
      const refusal = whyNotDelivered(partner, { type: event.type, applicationId: applicationOfEvent(event.body) });
      if (refusal) throw new Error(refusal);
      // By the partner's transport now, whatever it was when the event was written.
      if (isWebhookPartner(partner)) {
        await this.outbox.setDeliveryTransport(delivery.id, true, this.clock.now());
        this.webhooks.kick();
        return true;
      }
      // The default exchange routes by queue name: only this partner's queue gets it.
      await this.relay.send('', partnerQueue(partner.name), event, [partner]);
      await this.outbox.markRetryPublished(delivery.id, this.clock.now());
      return true;
    } catch (error) {
      await this.outbox.markRetryFailed(delivery.id, `retry failed: ${(error as Error).message}`, this.clock.now());
      this.metrics.deliveryFailed(delivery.partner);
      return false;
    }
  }
}
