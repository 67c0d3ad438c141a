import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { AppConfig } from '../../config/app-config';
import { PAYMENT_QUERIES_QUEUE, type QueryJob } from './query-scheduler';
import { RecoveryEngine } from './recovery-engine';

/** Query jobs worked at once by one instance. */
const CONCURRENCY = 8;

/** Runs the delayed jobs (RECOVERY_JOBS_ENABLED): each works its payment or refund through the recovery engine. */
@Injectable()
export class QueryJobsProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(QueryJobsProcessor.name);

  constructor(
    @InjectQueue(PAYMENT_QUERIES_QUEUE) private readonly queue: Queue<QueryJob>,
    @Inject(RecoveryEngine) private readonly recovery: RecoveryEngine,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.recovery.jobsEnabled) return;
    this.queue
      .process(CONCURRENCY, (job: Job<QueryJob>) => this.recovery.runJob(job.data))
      .catch((error: unknown) => this.logger.error(`query jobs stopped: ${(error as Error).message}`));
  }
}
