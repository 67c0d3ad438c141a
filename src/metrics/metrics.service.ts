import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { droppedLogLines } from '../common/logging/dropped-lines';

/** How the duplicate-submission guard caught a duplicate. */
export type DuplicateCaughtBy = 'redis_replay' | 'in_flight' | 'database';

/** Why the API key guard refused a business request. */
export type ApiKeyRefusal = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' | 'disabled' | 'scope';
export const API_KEY_REFUSALS: readonly ApiKeyRefusal[] = [
  'missing',
  'malformed',
  'unknown',
  'revoked',
  'expired',
  'disabled',
  'scope',
];

/** Where a scrape-time database read failed. */
export type CollectSource = 'payments' | 'payment_ages' | 'refund_ages' | 'outbox' | 'deliveries' | 'webhooks';

const DUPLICATE_CAUGHT_BY: readonly DuplicateCaughtBy[] = ['redis_replay', 'in_flight', 'database'];
const COLLECT_SOURCES: readonly CollectSource[] = [
  'payments',
  'payment_ages',
  'refund_ages',
  'outbox',
  'deliveries',
  'webhooks',
];

/**
 * This process's Prometheus registry and the typed calls feature code records through.
 *
 * One registry per app instance, never prom-client's global one: tests start several apps in one process,
 * and each must count only its own work. Nothing here imports a feature module, so common/ may use it.
 * Gauges read from the database are registered on this registry by DatabaseGauges.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'payment_center_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code (499: the client went away first).',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly gatewayAttempts = new Counter({
    name: 'payment_center_gateway_attempts_total',
    help: 'Gateway calls made by recovery (one per payment_attempts row), by channel, channel account (default: the environment one), kind and outcome.',
    labelNames: ['channel', 'account', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly notificationFailures = new Counter({
    name: 'payment_center_notification_verification_failures_total',
    help: 'Vendor notifications refused (nothing applied; the vendor resends), by channel and reason.',
    labelNames: ['channel', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly notificationReplays = new Counter({
    name: 'payment_center_notification_replays_total',
    help: 'Verified vendor notifications already applied (same notification id), acknowledged without applying them again, by channel and where the id was found (redis, database).',
    labelNames: ['channel', 'caught_by'] as const,
    registers: [this.registry],
  });

  private readonly orphanNotifications = new Counter({
    name: 'payment_center_orphan_notifications_total',
    help: 'Verified vendor notifications for a payment number we do not know, stored in orphan_notifications (a resend of one counts once), by channel and result.',
    labelNames: ['channel', 'result'] as const,
    registers: [this.registry],
  });

  private readonly refundMismatches = new Counter({
    name: 'payment_center_refund_notification_mismatches_total',
    help: 'Refund results whose amount or trade differs from the refund row: the refund went to NEEDS_REVIEW, by channel and what differed (amount, trade).',
    labelNames: ['channel', 'field'] as const,
    registers: [this.registry],
  });

  private readonly refundReviews = new Counter({
    name: 'payment_center_refund_reviews_total',
    help: 'Refunds sent to NEEDS_REVIEW for an operator, by channel and why: no_answer (no definite answer within REFUND_REVIEW_AFTER), refused (an automatic refund the vendor refused), mismatch (the vendor reports another amount or trade). Alert on any increase.',
    labelNames: ['channel', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly publishLag = new Histogram({
    name: 'payment_center_outbox_publish_lag_seconds',
    help: 'Time from an outbox event being written to the relay marking it published.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  private readonly deliveryFailures = new Counter({
    name: 'payment_center_delivery_failures_total',
    help: 'Deliveries that became FAILED (dead-lettered by a partner, or an admin retry that failed), by partner.',
    labelNames: ['partner'] as const,
    registers: [this.registry],
  });

  private readonly adminAuthFailures = new Counter({
    name: 'payment_center_admin_auth_failures_total',
    help: 'Admin bearer tokens refused (unknown token or malformed header), by reason; each source address is audited once a minute.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly duplicates = new Counter({
    name: 'payment_center_duplicate_submissions_total',
    help: 'Duplicate write requests caught, by how: redis_replay, in_flight (409) or database (backstop).',
    labelNames: ['caught_by'] as const,
    registers: [this.registry],
  });

  private readonly apiKeyRefusals = new Counter({
    name: 'payment_center_api_key_refusals_total',
    help: 'Business requests refused by the API key guard, by reason (missing, malformed, unknown, revoked, expired, disabled, scope).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly webhookPosts = new Histogram({
    name: 'payment_center_webhook_post_seconds',
    help: 'Webhook POSTs to partners, by partner and outcome (delivered: a 2xx answer), and how long each took.',
    labelNames: ['partner', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly webhookLag = new Histogram({
    name: 'payment_center_webhook_delivery_lag_seconds',
    help: 'From a webhook delivery being recorded (its payment change committing) to the partner answering 2xx.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600, 86_400],
    registers: [this.registry],
  });

  /** How many of the process's dropped log lines this counter has counted. */
  private logLinesDroppedSeen = 0;

  private readonly logLinesDropped: Counter = new Counter({
    name: 'payment_center_log_lines_dropped_total',
    help: 'Log lines dropped by this process because LOG_BUFFER_MAX_BYTES of lines were waiting for stdout to be read.',
    registers: [this.registry],
    collect: () => {
      const dropped = droppedLogLines();
      this.logLinesDropped.inc(dropped - this.logLinesDroppedSeen);
      this.logLinesDroppedSeen = dropped;
    },
  });

  /** The scrape-time database read (see DatabaseGauges); nothing until one is registered. */
  private databaseRead: () => Promise<unknown> = () => Promise.resolve();

  private readonly collectErrors = new Counter({
    name: 'payment_center_metrics_collect_errors_total',
    help: 'Database reads for scrape-time gauges that failed; those gauges are left out of that scrape.',
    labelNames: ['source'] as const,
    registers: [this.registry],
    // All metrics of a scrape are collected at once: wait for the database read, so that an error it
    // counts shows in the same scrape as the gauges it left out.
    collect: async () => {
      await this.databaseRead().catch(() => undefined);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Series that exist from the start, so rate() and increase() see the first event.
    for (const caughtBy of DUPLICATE_CAUGHT_BY) this.duplicates.inc({ caught_by: caughtBy }, 0);
    for (const source of COLLECT_SOURCES) this.collectErrors.inc({ source }, 0);
    for (const reason of API_KEY_REFUSALS) this.apiKeyRefusals.inc({ reason }, 0);
  }

  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  /**
   * `account`: the channel account the call was made with (one vendor merchant: its trouble shows apart from
   * the others'); `kind` the payment_attempts action (query, close, refund, refund_query); `outcome` the
   * answer's kind.
   */
  gatewayAttempt(channel: string, account: string, kind: string, outcome: string): void {
    this.gatewayAttempts.inc({ channel, account, kind, outcome });
  }

  notificationRefused(channel: string, reason: string): void {
    this.notificationFailures.inc({ channel, reason });
  }

  notificationReplayed(channel: string, caughtBy: 'redis' | 'database'): void {
    this.notificationReplays.inc({ channel, caught_by: caughtBy });
  }

  orphanNotification(channel: string, result: string): void {
    this.orphanNotifications.inc({ channel, result });
  }

  refundMismatch(channel: string, field: 'amount' | 'trade'): void {
    this.refundMismatches.inc({ channel, field });
  }

  refundToReview(channel: string, reason: 'no_answer' | 'refused' | 'mismatch'): void {
    this.refundReviews.inc({ channel, reason });
  }

  outboxPublished(lagSeconds: number): void {
    this.publishLag.observe(Math.max(0, lagSeconds));
  }

  deliveryFailed(partner: string): void {
    this.deliveryFailures.inc({ partner });
  }

  /** One webhook POST: `outcome` delivered (2xx) or failed (anything else, no answer in time, refused address). */
  webhookSent(partner: string, outcome: 'delivered' | 'failed', seconds: number): void {
    this.webhookPosts.observe({ partner, outcome }, seconds);
  }

  /** A webhook delivery made: seconds since its delivery record was written (retries included). */
  webhookDelivered(lagSeconds: number): void {
    this.webhookLag.observe(Math.max(0, lagSeconds));
  }

  apiKeyRefused(reason: ApiKeyRefusal): void {
    this.apiKeyRefusals.inc({ reason });
  }

  adminAuthFailed(reason: string): void {
    this.adminAuthFailures.inc({ reason });
  }

  duplicateCaught(caughtBy: DuplicateCaughtBy): void {
    this.duplicates.inc({ caught_by: caughtBy });
  }

  /** DatabaseGauges registers the (shared, cached) read its gauges collect from. */
  readDatabaseWith(read: () => Promise<unknown>): void {
    this.databaseRead = read;
  }

  collectFailed(source: CollectSource): void {
    this.collectErrors.inc({ source });
  }
}
