import { Inject, Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { isWebhookPartner } from '../config/setting-values';
import { CHANNELS } from '../gateways/gateway.types';
import { PAYMENT_STATUSES } from '../payment-center/payment-state-machine';
import { ageSeconds, type Sample, withZeros } from './gauge-samples';
import { type CollectSource, MetricsService } from './metrics.service';
import { SnapshotCache } from './snapshot-cache';

/** Statuses whose oldest payment is reported: the ones recovery must move on by itself. */
export const AGED_STATUSES = ['PAYING', 'CLOSING'] as const;

/** What one round of reads returned; a part is undefined when its read failed or nobody registered it. */
export interface Snapshot {
  payments?: Sample<'status' | 'channel'>[];
  oldest?: { status: string; channel: string; oldest: Date }[];
  oldestRefunds?: { channel: string; oldest: Date }[];
  outbox?: { unpublished: number; oldest: Date | null };
  failedDeliveries?: Sample<'partner'>[];
  webhookBacklog?: { partner: string; pending: number; oldest: Date | null }[];
}

type Reader<K extends keyof Snapshot> = { source: CollectSource; read: () => Promise<NonNullable<Snapshot[K]>> };

/** The parts, in the order they are read. */
const PARTS: readonly (keyof Snapshot)[] = [
  'payments',
  'oldest',
  'oldestRefunds',
  'outbox',
  'failedDeliveries',
  'webhookBacklog',
];

type Fill<L extends string> = (gauge: Gauge<L>, snapshot: Snapshot, now: Date) => void;

/**
 * Gauges read from MariaDB when Prometheus scrapes (prom-client `collect()`), so they are the same on every
 * instance. The modules that own the tables register the reads (`readFrom`, through their repositories):
 * metrics runs no SQL of its own. All reads are served from one snapshot kept for METRICS_DB_CACHE_MS, and each read is an
 * index-only scan or range: payments by (status, channel, created_at), open refunds by next_query_at,
 * outbox by (published_at, …), deliveries by (status, partner, …). A failed read leaves its gauges out of
 * that scrape and counts in payment_center_metrics_collect_errors_total; the rest of the scrape is served.
 */
@Injectable()
export class DatabaseGauges {
  private readonly logger = new Logger(DatabaseGauges.name);
  private readonly snapshot: SnapshotCache<Snapshot>;
  private readonly readers = new Map<keyof Snapshot, Reader<keyof Snapshot>>();

  constructor(
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    this.snapshot = new SnapshotCache(() => this.load(), config.metrics.dbCacheMs);
    metrics.readDatabaseWith(() => this.snapshot.get());
    this.gauge('payment_center_payments', 'Payments by status and channel.', ['status', 'channel'], (g, s) => {
      if (!s.payments) return;
      for (const { labels, value } of withZeros({ status: PAYMENT_STATUSES, channel: CHANNELS }, s.payments)) {
        g.set(labels, value);
      }
    });
    this.gauge(
      'payment_center_payments_needs_review',
      'Payments in NEEDS_REVIEW: an operator must look.',
      [],
      (g, s) => {
        if (!s.payments) return;
        g.set(s.payments.filter((p) => p.labels.status === 'NEEDS_REVIEW').reduce((sum, p) => sum + p.value, 0));
      },
    );
    this.gauge(
      'payment_center_payment_oldest_age_seconds',
      'Age (since it was created) of the oldest PAYING and of the oldest CLOSING payment; 0 when there is none.',
      ['status', 'channel'],
      (g, s, now) => {
        if (!s.oldest) return;
        const ages = s.oldest.map(({ status, channel, oldest }) => ({
          labels: { status, channel },
          value: ageSeconds(oldest, now),
        }));
        for (const { labels, value } of withZeros({ status: AGED_STATUSES, channel: CHANNELS }, ages)) {
          g.set(labels, value);
        }
      },
    );
    this.gauge(
      'payment_center_refund_oldest_age_seconds',
      'Age (since it was created) of the oldest REFUNDING refund; 0 when there is none.',
      ['channel'],
      (g, s, now) => {
        if (!s.oldestRefunds) return;
        const ages = s.oldestRefunds.map(({ channel, oldest }) => ({
          labels: { channel },
          value: ageSeconds(oldest, now),
        }));
        for (const { labels, value } of withZeros({ channel: CHANNELS }, ages)) g.set(labels, value);
      },
    );
    this.gauge('payment_center_outbox_unpublished_events', 'Outbox events not yet published.', [], (g, s) => {
      if (s.outbox) g.set(s.outbox.unpublished);
    });
    this.gauge(
      'payment_center_outbox_oldest_unpublished_age_seconds',
      'Age of the oldest outbox event not yet published; 0 when there is none.',
      [],
      (g, s, now) => {
        if (s.outbox) g.set(s.outbox.oldest ? ageSeconds(s.outbox.oldest, now) : 0);
      },
    );
    this.gauge(
      'payment_center_deliveries_failed',
      'Deliveries FAILED now, waiting for a retry.',
      ['partner'],
      (g, s) => {
        if (!s.failedDeliveries) return;
        const partners = this.config.partners.map((p) => p.name);
        for (const { labels, value } of withZeros({ partner: partners }, s.failedDeliveries)) g.set(labels, value);
      },
    );
    const webhookPartners = () => this.config.partners.filter(isWebhookPartner).map((p) => p.name);
    this.gauge(
      'payment_center_webhook_pending_deliveries',
      "A webhook partner's deliveries not made yet (due, being sent, or waiting on the retry schedule or circuit).",
      ['partner'],
      (g, s) => {
        if (!s.webhookBacklog) return;
        const samples = s.webhookBacklog.map(({ partner, pending }) => ({ labels: { partner }, value: pending }));
        for (const { labels, value } of withZeros({ partner: webhookPartners() }, samples)) g.set(labels, value);
      },
    );
    this.gauge(
      'payment_center_webhook_oldest_pending_age_seconds',
      "Age of a webhook partner's oldest delivery not made yet; 0 when there is none.",
      ['partner'],
      (g, s, now) => {
        if (!s.webhookBacklog) return;
        const samples = s.webhookBacklog.map(({ partner, oldest }) => ({
          labels: { partner },
          value: oldest ? ageSeconds(oldest, now) : 0,
        }));
        for (const { labels, value } of withZeros({ partner: webhookPartners() }, samples)) g.set(labels, value);
      },
    );
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[], fill: Fill<L>): void {
    const { snapshot, clock } = this;
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.metrics.registry],
      async collect() {
        this.reset();
        fill(this, await snapshot.get(), clock.now());
      },
    });
  }

  /** Registers what a part of the snapshot is read from; the owner of the table calls it at start. */
  readFrom<K extends keyof Snapshot>(
    part: K,
    source: CollectSource,
    read: () => Promise<NonNullable<Snapshot[K]>>,
  ): void {
    this.readers.set(part, { source, read });
  }

  private async load(): Promise<Snapshot> {
    const snapshot: Snapshot = {};
    for (const part of PARTS) {
      const reader = this.readers.get(part);
      if (reader) (snapshot as Record<string, unknown>)[part] = await this.read(reader.source, reader.read);
    }
    return snapshot;
  }

  private async read<T>(source: CollectSource, query: () => Promise<T>): Promise<T | undefined> {
    try {
      return await query();
    } catch (error) {
      this.metrics.collectFailed(source);
      this.logger.warn(`metrics: reading ${source} failed: ${(error as Error).message}`);
      return undefined;
    }
  }
}
