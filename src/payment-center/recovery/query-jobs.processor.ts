import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { AppConfig } from '../../config/app-config';
import { PaymentRecovery } from './payment-recovery';
import { PAYMENT_QUERIES_QUEUE, type QueryJob } from './query-scheduler';

/** Query jobs worked at once by one instance. */
const CONCURRENCY = 8;

/** Runs the delayed query jobs (RECOVERY_JOBS_ENABLED): each asks PaymentRecovery to work its payment. */
@Injectable()
export class QueryJobsProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(QueryJobsProcessor.name);

  constructor(
    @InjectQueue(PAYMENT_QUERIES_QUEUE) private readonly queue: Queue<QueryJob>,
    @Inject(PaymentRecovery) private readonly recovery: PaymentRecovery,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.recovery.jobsEnabled) return;
    this.queue
      .process(CONCURRENCY, (job: Job<QueryJob>) => this.recovery.runJob(job.data.paymentNo, job.data.attempt))
      .catch((error: unknown) => this.logger.error(`query jobs stopped: ${(error as Error).message}`));
  }
}
