import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { AppConfig } from '../../config/app-config';
import { RefundRecovery } from '../refunds/refund-recovery';
import { PaymentRecovery } from './payment-recovery';
import { PAYMENT_QUERIES_QUEUE, type QueryJob } from './query-scheduler';

/** Query jobs worked at once by one instance. */
const CONCURRENCY = 8;

/** Runs the delayed jobs (RECOVERY_JOBS_ENABLED): each works its payment or refund through recovery. */
@Injectable()
export class QueryJobsProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(QueryJobsProcessor.name);

  constructor(
    @InjectQueue(PAYMENT_QUERIES_QUEUE) private readonly queue: Queue<QueryJob>,
    @Inject(PaymentRecovery) private readonly recovery: PaymentRecovery,
    @Inject(RefundRecovery) private readonly refunds: RefundRecovery,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.recovery.jobsEnabled) return;
    this.queue
      .process(CONCURRENCY, (job: Job<QueryJob>) =>
        job.data.refundNo !== undefined
          ? this.refunds.runJob(job.data.refundNo, job.data.attempt)
          : this.recovery.runJob(job.data.paymentNo, job.data.attempt),
      )
      .catch((error: unknown) => this.logger.error(`query jobs stopped: ${(error as Error).message}`));
  }
}
