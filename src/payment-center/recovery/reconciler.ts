import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Cron, CronExpression, SchedulerRegistry } from '@nestjs/schedule';
import { startConfiguredCron, stopConfiguredCron } from '../../common/configured-cron';
import { AppConfig } from '../../config/app-config';
import { RecoveryEngine } from './recovery-engine';

const JOB = 'payment-reconciler';
/** Batches one tick may claim before it yields to the next tick. */
const MAX_BATCHES_PER_TICK = 20;

/**
 * The safety net when Redis loses the query jobs: every RECONCILER_CRON it claims the payments the
 * database says are due (at least RECONCILER_GRACE_MS overdue, so the on-time job goes first), in batches
 * of RECONCILER_BATCH_SIZE, with `FOR UPDATE SKIP LOCKED` — any number of instances run it at once and
 * no row is worked twice. Nothing here needs Redis or Bull.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Reconciler.name);
  private running?: Promise<number>;

  constructor(
    @Inject(RecoveryEngine) private readonly recovery: RecoveryEngine,
    @Inject(SchedulerRegistry) private readonly scheduler: SchedulerRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    startConfiguredCron(this.scheduler, JOB, {
      enabled: this.config.recovery.reconcilerEnabled,
      cron: this.config.recovery.reconcilerCron,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await stopConfiguredCron(this.scheduler, JOB);
    await this.running;
  }

  /** The schedule is set from RECONCILER_CRON at bootstrap; started only when RECONCILER_ENABLED. */
  @Cron(CronExpression.EVERY_5_SECONDS, { name: JOB, disabled: true, waitForCompletion: true })
  async tick(): Promise<void> {
    try {
      await this.sweep();
    } catch (error) {
      this.logger.warn(`reconciler sweep failed: ${(error as Error).message}`);
    }
  }

  /** One cycle: claims and works due batches until none is left (or the cycle's bound). Returns the count. */
  sweep(): Promise<number> {
    this.running ??= this.sweepBatches().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepBatches(): Promise<number> {
    const { reconcilerBatchSize, reconcilerGraceMs } = this.config.recovery;
    let total = 0;
    for (const kind of this.recovery.kinds()) {
      for (let batch = 0; batch < MAX_BATCHES_PER_TICK; batch++) {
        const claimed = await this.recovery.sweep(kind, reconcilerBatchSize, reconcilerGraceMs);
        total += claimed;
        if (claimed < reconcilerBatchSize) break;
      }
    }
    if (total > 0) this.logger.log(`reconciler worked ${total} due payment(s) and refund(s)`);
    return total;
  }
}
