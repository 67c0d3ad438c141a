import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DataSource } from 'typeorm';
import { Clock } from '../../common/clock';
import { withLogContext } from '../../common/logging/log-context';
import { AppConfig } from '../../config/app-config';
import type { PartnerConfig } from '../../config/environment';
import { isWebhookPartner } from '../../config/setting-values';
import { inTransaction } from '../../database/transaction';
import { MetricsService } from '../../metrics/metrics.service';
import { type ClaimedDelivery, OutboxRepository } from '../outbox.repository';
import { whyNotDelivered } from '../partner-filter';
import { applicationOfEvent } from '../payment-event';
import { CircuitBreaker } from './circuit-breaker';
import { nextAttemptAfter } from './retry-schedule';
import { type WebhookEvent, type WebhookOutcome, WebhookSender } from './webhook.sender';

type WebhookPartner = PartnerConfig & { url: string };

/**
 * Sends webhook partners' deliveries, each on its own retry schedule (event_deliveries.next_attempt_at).
 *
 * - One pump per partner: it claims only as many due deliveries as the partner has free slots
 *   (WEBHOOK_CONCURRENCY in flight) and, while its circuit is closed, as many again ahead, so a partner with a
 *   backlog or a slow endpoint never holds up another.
 * - Claim: a short transaction takes due rows with FOR UPDATE SKIP LOCKED and leases them (claimed_by,
 *   next_attempt_at moved to the lease end: twice WEBHOOK_TIMEOUT_MS and a second), then commits. Several instances
 *   dispatch at once without sending the same row; a crashed instance's rows come due again when the lease ends,
 *   and are sent again: partners deduplicate by event id.
 * - Send: outside any transaction. Mark: 2xx → PUBLISHED; anything else → due again after the next wait of
 *   WEBHOOK_RETRY_SCHEDULE (with jitter), or FAILED once the schedule has run out.
 * - Circuit: WEBHOOK_CIRCUIT_FAILURES failed sends in a row open the partner's circuit: its deliveries are not
 *   claimed (they wait, no attempt spent) until the cooldown passes; then one trial send decides.
 * - Prompt: `kick()` after a commit that wrote webhook deliveries; polling every RELAY_POLL_INTERVAL_MS is the net.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  readonly instanceId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}:wh`;
  private readonly pumps = new Map<string, PartnerPump>();
  private timer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private stopped = true;
  private readonly delivered = new DeliveredMarks((ids) => this.outbox.markWebhooksDelivered(ids, this.clock.now()));

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(OutboxRepository) private readonly outbox: OutboxRepository,
    @Inject(WebhookSender) private readonly sender: WebhookSender,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.relay.enabled) return;
    this.stopped = false;
    this.sweepOrphans();
    const partners = this.config.partners.filter(isWebhookPartner);
    if (partners.length === 0) return;
    for (const partner of partners) {
      const circuit = new CircuitBreaker(this.config.webhooks.circuitFailures, this.config.webhooks.circuitCooldownMs);
      this.pumps.set(partner.name, {
        partner,
        circuit,
        inFlight: 0,
        claiming: undefined,
        again: false,
        ready: [],
        sends: new Set(),
      });
    }
    this.poll();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.sweepTimer);
    // Sends in flight finish (each is bounded by WEBHOOK_TIMEOUT_MS) and are marked; nothing new is claimed.
    for (const pump of this.pumps.values()) {
      await pump.claiming;
      await this.releaseReady(pump).catch((error: Error) =>
        this.logger.warn(`webhook claims of ${pump.partner.name} not released: ${error.message}`),
      );
      await Promise.allSettled([...pump.sends]);
    }
  }

  /** Send now: called right after a transaction that wrote webhook deliveries has committed. */
  kick(): void {
    if (this.stopped) return;
    for (const pump of this.pumps.values()) this.pump(pump);
  }

  /** The circuits, for the admin view and the gauges: partner → open, half-open or closed. */
  circuits(): { partner: string; state: string; failuresInRow: number; openUntil: string | null }[] {
    return [...this.pumps.values()].map(({ partner, circuit }) => ({
      partner: partner.name,
      ...circuit.describe(this.clock.now().getTime()),
    }));
  }

  /**
   * Webhook deliveries no pump here will ever send: their partner was removed from PARTNERS or takes its events
   * from a queue now. FAILED with the reason (the alert and the admin list show them; a retry sends each by the
   * partner's transport now), at start and every minute.
   */
  private sweepOrphans(): void {
    if (this.stopped) return;
    const webhookPartners = this.config.partners.filter(isWebhookPartner).map((p) => p.name);
    this.outbox
      .failOrphanWebhookDeliveries(webhookPartners, this.clock.now())
      .then((failed) => {
        if (failed > 0) this.logger.warn(`${failed} webhook deliveries of partners no longer taking webhooks: FAILED`);
      })
      .catch((error: Error) => this.logger.warn(`webhook orphan sweep failed: ${error.message}`))
      .finally(() => {
        if (!this.stopped) this.sweepTimer = setTimeout(() => this.sweepOrphans(), ORPHAN_SWEEP_MS);
      });
  }

  private poll(): void {
    if (this.stopped) return;
    this.kick();
    this.timer = setTimeout(() => this.poll(), this.config.relay.pollIntervalMs);
  }

  /**
   * Fills the partner's free slots with due deliveries; called again whenever a send ends. While the circuit is
   * closed it claims ahead: up to WEBHOOK_CONCURRENCY more deliveries than the slots take wait in `ready`, so a
   * slot that frees starts its next POST at once instead of waiting for a claim transaction (claims, one at a
   * time per partner, were what the slots waited for). A waiting delivery starts within one POST's deadline, so
   * the lease (twice that deadline and a second) still outlives its own POST and mark.
   */
  private pump(pump: PartnerPump): void {
    if (this.stopped) return;
    const nowMs = this.clock.now().getTime();
    this.startReady(pump, nowMs);
    if (pump.claiming) {
      pump.again = true;
      return;
    }
    const { concurrency } = this.config.webhooks;
    const allowed = pump.circuit.sendsAllowed(nowMs, pump.inFlight);
    const free =
      allowed === Number.POSITIVE_INFINITY
        ? 2 * concurrency - pump.inFlight - pump.ready.length
        : Math.min(concurrency - pump.inFlight, allowed) - pump.ready.length;
    if (free <= 0) return;
    pump.claiming = this.claim(pump, free)
      .catch((error: Error) => this.logger.warn(`webhook claim for ${pump.partner.name} failed: ${error.message}`))
      .finally(() => {
        pump.claiming = undefined;
        this.startReady(pump, this.clock.now().getTime());
        if (pump.again) {
          pump.again = false;
          this.pump(pump);
        }
      });
  }

  /** Starts claimed deliveries in the free slots, as many as the circuit lets start now. */
  private startReady(pump: PartnerPump, nowMs: number): void {
    while (
      pump.ready.length > 0 &&
      pump.inFlight < this.config.webhooks.concurrency &&
      pump.circuit.sendsAllowed(nowMs, pump.inFlight) > 0
    ) {
      const { delivery, event } = pump.ready.shift()!;
      pump.inFlight += 1;
      const send = this.deliver(pump, delivery, event)
        .catch((error: Error) => this.logger.warn(`webhook delivery ${delivery.id} not marked: ${error.message}`))
        .finally(() => {
          pump.inFlight -= 1;
          pump.sends.delete(send);
          this.pump(pump);
        });
      pump.sends.add(send);
    }
  }

  private async claim(pump: PartnerPump, limit: number): Promise<void> {
    const now = this.clock.now();
    const claimed = await inTransaction(this.dataSource, (manager) =>
      this.outbox.claimDueWebhookDeliveries(manager, {
        partner: pump.partner.name,
        now,
        limit,
        instanceId: this.instanceId,
        leaseUntil: new Date(now.getTime() + leaseMs(this.config.webhooks.timeoutMs)),
      }),
    );
    if (claimed.length === 0) return;
    const events = new Map(
      (await this.outbox.eventBodies(claimed.map((d) => d.eventId))).map((event) => [event.eventId, event]),
    );
    for (const delivery of claimed) pump.ready.push({ delivery, event: events.get(delivery.eventId) });
    // Stopping, or the circuit opened while this claim ran: none of these would start within its lease.
    if (this.stopped || pump.circuit.describe(this.clock.now().getTime()).state === 'open') {
      await this.releaseReady(pump);
      return;
    }
    if (claimed.length === limit) pump.again = true; // there may be more due: claim again as room frees up
  }

  /** Gives back the claimed deliveries not started (stopping, or the circuit opened): due again now. */
  private async releaseReady(pump: PartnerPump): Promise<void> {
    const ids = pump.ready.splice(0).map(({ delivery }) => delivery.id);
    await this.outbox.releaseWebhookClaims(ids, this.instanceId, this.clock.now());
  }

  private deliver(pump: PartnerPump, delivery: ClaimedDelivery, event: WebhookEvent | undefined): Promise<void> {
    return withLogContext({ eventId: delivery.eventId }, async () => {
      const { partner } = pump;
      if (!event) {
        await this.refuse(delivery, `event ${delivery.eventId} is no longer in the outbox`);
        return;
      }
      // PARTNERS as it is now: a partner restricted since to other applications must not get this event.
      const refusal = whyNotDelivered(partner, { type: event.type, applicationId: applicationOfEvent(event.body) });
      if (refusal) {
        await this.refuse(delivery, refusal);
        return;
      }
      const started = process.hrtime.bigint();
      const outcome = await this.sender.post(partner, event);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.webhookSent(partner.name, outcome.delivered ? 'delivered' : 'failed', seconds);
      await this.settle(pump, delivery, outcome);
    });
  }

  private async settle(pump: PartnerPump, delivery: ClaimedDelivery, outcome: WebhookOutcome): Promise<void> {
    const now = this.clock.now();
    if (outcome.delivered) {
      pump.circuit.succeeded();
      await this.delivered.mark(delivery.id);
      this.metrics.webhookDelivered((now.getTime() - delivery.createdAt.getTime()) / 1000);
      return;
    }
    if (pump.circuit.failed(now.getTime())) {
      this.logger.warn(`webhook partner ${pump.partner.name}: circuit open (${outcome.reason})`);
      // Those claimed ahead would wait out the cooldown past their lease: back to the table, due again now.
      await this.releaseReady(pump);
    }
    const next = nextAttemptAfter(now, delivery.scheduleStep, this.config.webhooks.retryScheduleMs);
    const step = `attempt ${delivery.attempts + 1}`;
    this.logger.warn(
      `webhook ${delivery.eventId} to ${pump.partner.name} failed (${step}): ${outcome.reason}` +
        (next ? `; next at ${next.toISOString()}` : '; the schedule has run out: FAILED'),
    );
    await this.outbox.markWebhookAttemptFailed(delivery.id, this.instanceId, outcome.reason, now, next);
    if (!next) this.metrics.deliveryFailed(pump.partner.name);
  }

  /** A delivery its partner no longer takes: FAILED now, with the reason, instead of being sent. */
  private async refuse(delivery: ClaimedDelivery, reason: string): Promise<void> {
    this.logger.warn(`event ${delivery.eventId} not sent: ${reason}`);
    await this.outbox.markDeliveryRefused(delivery.id, `not sent: ${reason}`, this.clock.now());
    this.metrics.deliveryFailed(delivery.partner);
  }
}

const ORPHAN_SWEEP_MS = 60_000;

/**
 * Marks delivered deliveries PUBLISHED, one UPDATE for all the 2xx answers that came in while the previous UPDATE
 * was being written (every POST ending while a mark commits joins the next one): one commit per delivery made the
 * marks most of the dispatcher's statements and commits. `mark` resolves once its row's UPDATE has committed, so a
 * send still frees its slot only after its mark, as before; a failed UPDATE fails every send of its batch.
 */
class DeliveredMarks {
  private waiting: { id: string; done(): void; failed(error: Error): void }[] = [];
  private writing = false;

  constructor(private readonly write: (ids: string[]) => Promise<void>) {}

  mark(id: string): Promise<void> {
    return new Promise((done, failed) => {
      this.waiting.push({ id, done, failed });
      if (!this.writing) void this.writeAll();
    });
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MARKS_PER_UPDATE);
        try {
          await this.write(batch.map((mark) => mark.id));
          for (const mark of batch) mark.done();
        } catch (error) {
          for (const mark of batch) mark.failed(error as Error);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}

/** At most this many ids in one mark's `IN (…)`: many partners' concurrency together stays one short statement. */
const MARKS_PER_UPDATE = 500;

/**
 * How long a claim lasts: twice the POST's own deadline and a second, so it outlives the POST it was taken for
 * and the mark after it; a crashed instance's claims come due again this long after they were taken.
 */
const leaseMs = (timeoutMs: number) => 2 * timeoutMs + 1000;

interface PartnerPump {
  partner: WebhookPartner;
  circuit: CircuitBreaker;
  inFlight: number;
  claiming: Promise<void> | undefined;
  again: boolean;
  /** Claimed ahead, waiting for a free slot (with the event, unless it is gone from the outbox). */
  ready: { delivery: ClaimedDelivery; event: WebhookEvent | undefined }[];
  sends: Set<Promise<void>>;
}
