import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { withLogContext } from '../common/logging/log-context';
import { AppConfig } from '../config/app-config';
import type { PartnerConfig } from '../config/environment';
import { inTransaction } from '../database/transaction';
import { MetricsService } from '../metrics/metrics.service';
import { AmqpConnection } from './amqp.connection';
import type { OutboxEvent } from './outbox.entity';
import { type ClaimedEvent, OutboxRepository } from './outbox.repository';
import { isWebhookPartner } from '../config/setting-values';
import { exchangeOf, whyNotDelivered } from './partner-filter';
import {
  applicationOfEvent,
  PAYMENT_EVENTS_EXCHANGE,
  partnerQueue,
  SIGNATURE_HEADER,
  signatureHeader,
  topicMatches,
} from './payment-event';
import { WebhookDispatcher } from './webhook/webhook.dispatcher';

const MAX_BACKOFF_MS = 60_000;

/**
 * Publishes outbox events with publisher confirms: to the topic exchange for the partners that receive every
 * application's events, and to each restricted partner's own exchange (partner-filter.ts).
 *
 * - Claim: a short transaction takes due rows with `FOR UPDATE SKIP LOCKED` and leases them (sets
 *   `claimed_by` and moves `next_attempt_at` to the lease end), then commits; on a backlog the same
 *   transaction marks the batch before, while the current one is on the wire (see `drain`). Several
 *   instances relay at once without publishing the same row; a crashed instance's rows come due again
 *   when the lease ends.
 * - Publish: outside any transaction, persistent, `mandatory`, with a publish timeout, so a broker that is
 *   down or blocked fails the attempt instead of hanging the relay.
 * - Mark: only after the confirm (and no return): exactly the delivery rows that were sent, and the event
 *   row only if the claim is still ours. A crash between confirm and mark publishes the event again later:
 *   consumers deduplicate by event id.
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
    @Inject(OutboxRepository) private readonly outbox: OutboxRepository,
    @Inject(AmqpConnection) private readonly amqp: AmqpConnection,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(WebhookDispatcher) private readonly webhooks: WebhookDispatcher,
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
      await this.drain();
    } catch (error) {
      this.logger.warn(`relay pass failed: ${(error as Error).message}`);
    }
  }

  /**
   * One pass: publish batches until a claim comes back short. While a batch is on the wire, one short
   * transaction marks the batch before it (confirmed by then) and claims the next, so the database works
   * while the relay waits for confirms: claim, publish and mark one after the other spent more time in the
   * database than on the broker (bench/RESULTS.md, outbox relay). The broker still gets one batch at a
   * time, in claim order.
   *
   * Once stopped, it claims nothing more but publishes and marks what it holds (shutdown waits for that).
   * A pass that fails leaves what it claimed and did not mark to come due again when the lease ends.
   */
  private async drain(): Promise<void> {
    let batch = await this.markAndClaim([], true);
    let confirmed: Claimed[] = [];
    while (batch.length > 0) {
      const more = batch.length === this.config.relay.batchSize && !this.stopped;
      [confirmed, batch] = await both(this.publishBatch(batch), this.markAndClaim(confirmed, more));
    }
    await this.markAndClaim(confirmed, false);
  }

  /**
   * Publishes a claimed batch; returns the events that may be marked published (confirmed, or nothing to send),
   * each with the deliveries that were sent.
   */
  private async publishBatch(batch: readonly Claimed[]): Promise<Claimed[]> {
    const sent = await Promise.all(batch.map((claimed) => this.publish(claimed)));
    return batch.flatMap(({ event }, i) => {
      const deliveries = sent[i];
      return deliveries ? [{ event, deliveries }] : [];
    });
  }

  /**
   * One short transaction marks `confirmed` published (what is still ours of it) and, if `claimNext`,
   * claims the next batch; then the claimed events' pending deliveries are read. It runs beside a publish,
   * never around one.
   */
  private async markAndClaim(confirmed: readonly Claimed[], claimNext: boolean): Promise<Claimed[]> {
    if (confirmed.length === 0 && !claimNext) return [];
    const done = await inTransaction(this.dataSource, async (manager) => {
      const now = this.clock.now();
      const allOurs = await this.markPublished(manager, confirmed, now);
      return { now, allOurs, claimed: claimNext ? await this.claim(manager, now) : [] };
    });
    if (done.allOurs) {
      for (const { event } of confirmed) {
        this.metrics.outboxPublished((done.now.getTime() - event.createdAt.getTime()) / 1000);
      }
    }
    return this.withPendingDeliveries(done.claimed);
  }

  /**
   * Takes up to a batch of due events, locked with SKIP LOCKED (rows another relay holds are passed over,
   * not waited for), and leases them to this instance.
   */
  private claim(manager: EntityManager, now: Date): Promise<ClaimedEvent[]> {
    return this.outbox.claimDueSkippingLocked(manager, {
      now,
      limit: this.config.relay.batchSize,
      instanceId: this.instanceId,
      leaseUntil: new Date(now.getTime() + this.config.relay.claimLeaseMs),
    });
  }

  /**
   * The deliveries each claimed event still has to make (not published yet). Read after the claim has
   * committed, in a statement of its own: a read inside the claim (a subquery of its locking SELECT) is a
   * consistent read from a snapshot that can predate an event the locking read then takes, and would find
   * that fresh event with no deliveries, as if there were nothing to send.
   */
  private async withPendingDeliveries(events: readonly ClaimedEvent[]): Promise<Claimed[]> {
    if (events.length === 0) return [];
    const rows = await this.outbox.pendingDeliveriesOf(events.map((event) => event.eventId));
    const byEvent = new Map<string, PendingDelivery[]>();
    for (const row of rows) {
      const list = byEvent.get(row.event_id) ?? [];
      list.push({ id: row.id, partner: row.partner });
      byEvent.set(row.event_id, list);
    }
    return events.map((event) => ({ event, deliveries: byEvent.get(event.eventId) ?? [] }));
  }

  /**
   * Marks what the broker confirmed: the delivery rows that were sent, and the events whose claim is still
   * ours (a lease that ran out belongs to the relay that took the row over: its event row is left to it).
   * A sent delivery is marked either way, because it was sent; the relay that took over finds nothing
   * left to send for it or sends it again, which consumers deduplicate. Two statements, no locking read
   * first. Returns whether every confirmed event was ours (the usual case; the lag metric counts those).
   */
  private async markPublished(manager: EntityManager, confirmed: readonly Claimed[], now: Date): Promise<boolean> {
    if (confirmed.length === 0) return false;
    const sent = confirmed.flatMap((c) => c.deliveries);
    if (sent.length > 0) {
      await this.outbox.markDeliveriesPublished(
        manager,
        sent.map((delivery) => delivery.id),
        now,
      );
    }
    const marked = await this.outbox.markEventsPublished(
      manager,
      confirmed.map(({ event }) => event.id),
      this.instanceId,
      now,
    );
    return marked === confirmed.length;
  }

  /**
   * Sends one event to its pending partners; returns the deliveries sent when the event may be marked
   * published (all confirmed, or nothing to send), undefined when it must go out again.
   */
  private publish({ event, deliveries }: Claimed): Promise<PendingDelivery[] | undefined> {
    return withLogContext({ eventId: event.eventId, paymentNo: event.paymentNo }, () =>
      this.publishOne(event, deliveries),
    );
  }

  /**
   * Routes each pending delivery by its partner as PARTNERS has it now: one message to `payment.events` for
   * the unrestricted partners (signed for them), one to the own exchange of each restricted partner (signed for
   * it alone). A delivery its partner no longer takes (removed, rebound, or restricted to other applications
   * since the event was written) is not sent but FAILED with the reason, for operators.
   *
   * Exact per partner: when some sends fail, the deliveries whose send was confirmed are marked published at
   * once and only the others go out when the event comes due again (consumers deduplicate a repeat anyway).
   */
  private async publishOne(
    event: ClaimedEvent,
    deliveries: readonly PendingDelivery[],
  ): Promise<PendingDelivery[] | undefined> {
    if (deliveries.length === 0) return [];
    try {
      const audience = { type: event.type, applicationId: applicationOfEvent(event.body) };
      const toQueues: { partner: PartnerConfig; delivery: PendingDelivery }[] = [];
      const toWebhooks: PendingDelivery[] = [];
      for (const delivery of deliveries) {
        const partner = this.config.partners.find((p) => p.name === delivery.partner);
        if (!partner) {
          await this.refuse(event, delivery, `partner ${delivery.partner} is not configured`);
          continue;
        }
        if (isWebhookPartner(partner)) {
          toWebhooks.push(delivery);
          continue;
        }
        const refusal = whyNotDelivered(partner, audience);
        if (refusal) {
          await this.refuse(event, delivery, refusal);
          continue;
        }
        toQueues.push({ partner, delivery });
      }
      if (toWebhooks.length > 0) await this.handOver(toWebhooks);
      const messages = this.messagesFor(event, toQueues);
      const results = await Promise.allSettled(
        messages.map(async (message) => {
          await this.send(message.exchange, message.routingKey, event, message.keys);
          return message.deliveries;
        }),
      );
      const sent = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
      const failures = results.flatMap((result) =>
        result.status === 'rejected' ? [(result.reason as Error).message] : [],
      );
      if (failures.length === 0) {
        if (sent.length > 0) this.logger.debug(`${event.type} published for ${sent.map((d) => d.partner).join(', ')}`);
        return sent;
      }
      if (sent.length > 0) {
        await this.outbox.markDeliveriesPublished(
          undefined,
          sent.map((delivery) => delivery.id),
          this.clock.now(),
        );
      }
      await this.markFailedAttempt(event, failures.join('; '));
      return undefined;
    } catch (error) {
      await this.markFailedAttempt(event, (error as Error).message);
      return undefined;
    }
  }

  /**
   * The messages that make `pending`: on an event's first send, one to `payment.events` for the unrestricted
   * partners when it reaches exactly them (every unrestricted queue partner bound to the type is pending: the
   * usual case), one to each restricted partner's own exchange; any other send (a replay, a resend after a
   * failed attempt, a partner set that changed) one per partner queue through the default exchange, which
   * reaches that queue alone, whatever else is bound to `payment.events`.
   */
  private messagesFor(
    event: ClaimedEvent,
    pending: readonly { partner: PartnerConfig; delivery: PendingDelivery }[],
  ): { exchange: string; routingKey: string; keys: PartnerConfig[]; deliveries: PendingDelivery[] }[] {
    const type = event.type;
    const shared = pending.filter(({ partner }) => exchangeOf(partner) === PAYMENT_EVENTS_EXCHANGE);
    const reached = this.config.partners.filter(
      (p) => !isWebhookPartner(p) && !p.applications && p.bindings.some((binding) => topicMatches(binding, type)),
    );
    const sharedIsExact =
      event.attempts === 0 &&
      shared.length === reached.length &&
      reached.every((p) => shared.some(({ partner }) => partner.name === p.name));
    return pending
      .flatMap(({ partner, delivery }) => {
        const viaShared = exchangeOf(partner) === PAYMENT_EVENTS_EXCHANGE;
        if (viaShared && sharedIsExact) return [];
        return viaShared
          ? [{ exchange: '', routingKey: partnerQueue(partner.name), keys: [partner], deliveries: [delivery] }]
          : [{ exchange: exchangeOf(partner), routingKey: type, keys: [partner], deliveries: [delivery] }];
      })
      .concat(
        sharedIsExact && shared.length > 0
          ? [
              {
                exchange: PAYMENT_EVENTS_EXCHANGE,
                routingKey: type,
                keys: shared.map(({ partner }) => partner),
                deliveries: shared.map(({ delivery }) => delivery),
              },
            ]
          : [],
      );
  }

  /**
   * Deliveries of partners that take webhooks now (PARTNERS changed since the event was written): not the
   * relay's to send; they join the webhook schedule, due now.
   */
  private async handOver(deliveries: readonly PendingDelivery[]): Promise<void> {
    await this.outbox.handOverToWebhook(
      deliveries.map((d) => d.id),
      this.clock.now(),
    );
    this.webhooks.kick();
  }

  /** A delivery its partner no longer takes: FAILED now, with the reason, instead of being sent. */
  private async refuse(event: ClaimedEvent, delivery: PendingDelivery, reason: string): Promise<void> {
    this.logger.warn(`event ${event.eventId} not sent to ${delivery.partner}: ${reason}`);
    await this.outbox.markDeliveryRefused(delivery.id, `not sent: ${reason}`, this.clock.now());
    this.metrics.deliveryFailed(delivery.partner);
  }

  /** Publishes one outbox event and resolves once the broker confirmed it as routed. */
  async send(
    exchange: string,
    routingKey: string,
    event: Pick<OutboxEvent, 'eventId' | 'type' | 'body'>,
    keys: readonly { keyId: string; secret: string }[],
  ): Promise<void> {
    const body = Buffer.from(event.body);
    const now = this.clock.now();
    const timestamp = Math.floor(now.getTime() / 1000);
    this.amqp.forgetReturn(exchange, event.eventId);
    await this.publishConfirmed(exchange, routingKey, body, {
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
    if (this.amqp.takeReturn(exchange, event.eventId)) {
      throw new Error(`unroutable: no queue bound for ${routingKey} on ${exchange || 'the default exchange'}`);
    }
  }

  /**
   * A broker under a memory or disk alarm blocks publishing connections: it stops reading them, and the confirm
   * never comes. The channel gives up after RELAY_PUBLISH_TIMEOUT_MS with a bare "timeout"; say what it means in
   * the event's last error, for operators. The message may still reach the queue once the broker reads again,
   * and the retry sends it once more: consumers deduplicate by event id.
   */
  private async publishConfirmed(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: Parameters<ChannelWrapper['publish']>[3],
  ): Promise<void> {
    try {
      await this.amqp.publisher().publish(exchange, routingKey, body, options);
    } catch (error) {
      if ((error as Error).message !== 'timeout') throw error;
      throw new Error(
        `no confirm from the broker within ${this.config.relay.publishTimeoutMs} ms (connection blocked or down)`,
        { cause: error },
      );
    }
  }

  private async markFailedAttempt(event: ClaimedEvent, reason: string): Promise<void> {
    const now = this.clock.now();
    const backoff = Math.min(1000 * 2 ** event.attempts, MAX_BACKOFF_MS);
    this.logger.warn(`event ${event.eventId} not published (attempt ${event.attempts + 1}): ${reason}`);
    await this.outbox.markEventAttemptFailed(event.id, this.instanceId, reason, new Date(now.getTime() + backoff));
  }
}

/** A delivery row still to be made: which partner, and the row to mark once the broker confirmed. */
interface PendingDelivery {
  id: string;
  partner: string;
}

/** A claimed event and its deliveries not published yet. */
interface Claimed {
  event: ClaimedEvent;
  deliveries: PendingDelivery[];
}

/**
 * Both results, once both have settled: neither is still running when the pass ends on the other's failure
 * (shutdown waits for the pass, then closes the pool and the channel), and the first failure is thrown.
 */
async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}
