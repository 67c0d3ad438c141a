import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DatabaseGauges } from '../metrics/database-gauges';
import { OutboxRepository } from './outbox.repository';

/** What the outbox and delivery gauges read, through the repository that owns the tables. */
@Injectable()
export class OutboxGauges implements OnModuleInit {
  constructor(
    @Inject(DatabaseGauges) private readonly gauges: DatabaseGauges,
    @Inject(OutboxRepository) private readonly outbox: OutboxRepository,
  ) {}

  onModuleInit(): void {
    this.gauges.readFrom('outbox', 'outbox', () => this.outbox.unpublishedSummary());
    this.gauges.readFrom('failedDeliveries', 'deliveries', async () =>
      (await this.outbox.failedDeliveriesByPartner()).map(({ partner, count }) => ({
        labels: { partner },
        value: count,
      })),
    );
    this.gauges.readFrom('webhookBacklog', 'webhooks', () => this.outbox.webhookBacklogByPartner());
  }
}
