import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { CHANNELS } from '../gateways/gateway.types';
import { PAYMENT_STATUSES } from '../payment-center/payment-state-machine';
import { ageSeconds, type Sample, withZeros } from './gauge-samples';
import { type CollectSource, MetricsService } from './metrics.service';
import { SnapshotCache } from './snapshot-cache';

/** Statuses whose oldest payment is reported: the ones recovery must move on by itself. */
const AGED_STATUSES = ['PAYING', 'CLOSING'] as const;

/** What one round of queries read; a part is undefined when its query failed. */
interface Snapshot {
  payments?: Sample<'status' | 'channel'>[];
  oldest?: { status: string; channel: string; oldest: Date }[];
  oldestRefunds?: { channel: string; oldest: Date }[];
  outbox?: { unpublished: number; oldest: Date | null };
  failedDeliveries?: Sample<'partner'>[];
}

type Fill<L extends string> = (gauge: Gauge<L>, snapshot: Snapshot, now: Date) => void;

/**
 * Gauges read from MariaDB when Prometheus scrapes (prom-client `collect()`), so they are the same on every
 * instance. All reads are served from one snapshot kept for METRICS_DB_CACHE_MS, and each read is an
 * index-only scan or range: payments by (status, channel, created_at), open refunds by next_query_at,
 * outbox by (published_at, …), deliveries by (status, partner, …). A failed read leaves its gauges out of
 * that scrape and counts in payment_center_metrics_collect_errors_total; the rest of the scrape is served.
 */
@Injectable()
export class DatabaseGauges {
  private readonly logger = new Logger(DatabaseGauges.name);
  private readonly snapshot: SnapshotCache<Snapshot>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
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

  private async load(): Promise<Snapshot> {
    const payments = await this.read('payments', async () => {
      const rows = await this.dataSource.query<{ status: string; channel: string; n: string }[]>(
        'SELECT status, channel, COUNT(*) AS n FROM payments GROUP BY status, channel',
      );
      return rows.map((r) => ({ labels: { status: r.status, channel: r.channel }, value: Number(r.n) }));
    });
    const oldest = await this.read('payment_ages', () =>
      this.dataSource.query<{ status: string; channel: string; oldest: Date }[]>(
        `SELECT status, channel, MIN(created_at) AS oldest FROM payments
          WHERE status IN (?) GROUP BY status, channel`,
        [AGED_STATUSES],
      ),
    );
    // Settled refunds have no next query time: the range on ix_refunds_next_query holds the open ones only.
    const oldestRefunds = await this.read('refund_ages', () =>
      this.dataSource.query<{ channel: string; oldest: Date }[]>(
        `SELECT channel, MIN(created_at) AS oldest FROM refunds
          WHERE next_query_at IS NOT NULL AND status = 'REFUNDING' GROUP BY channel`,
      ),
    );
    const outbox = await this.read('outbox', async () => {
      const [row] = await this.dataSource.query<{ n: string; oldest: Date | null }[]>(
        'SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox_events WHERE published_at IS NULL',
      );
      return { unpublished: Number(row.n), oldest: row.oldest };
    });
    const failedDeliveries = await this.read('deliveries', async () => {
      const rows = await this.dataSource.query<{ partner: string; n: string }[]>(
        `SELECT partner, COUNT(*) AS n FROM event_deliveries WHERE status = 'FAILED' GROUP BY partner`,
      );
      return rows.map((r) => ({ labels: { partner: r.partner }, value: Number(r.n) }));
    });
    return { payments, oldest, oldestRefunds, outbox, failedDeliveries };
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
