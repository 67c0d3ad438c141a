import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { AGED_STATUSES, DatabaseGauges } from '../metrics/database-gauges';
import { PaymentsRepository } from './payments.repository';
import { RefundsRepository } from './refunds/refunds.repository';

/** What the payment and refund gauges read, through the repositories that own the tables. */
@Injectable()
export class PaymentGauges implements OnModuleInit {
  constructor(
    @Inject(DatabaseGauges) private readonly gauges: DatabaseGauges,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
  ) {}

  onModuleInit(): void {
    this.gauges.readFrom('payments', 'payments', async () =>
      (await this.payments.countByStatusAndChannel()).map(({ status, channel, count }) => ({
        labels: { status, channel },
        value: count,
      })),
    );
    this.gauges.readFrom('oldest', 'payment_ages', () => this.payments.oldestCreatedIn(AGED_STATUSES));
    this.gauges.readFrom('oldestRefunds', 'refund_ages', () => this.refunds.oldestOpenByChannel());
  }
}
