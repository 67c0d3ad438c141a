import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Cron, CronExpression, SchedulerRegistry } from '@nestjs/schedule';
import { startConfiguredCron, stopConfiguredCron } from '../../common/configured-cron';
import { AppConfig } from '../../config/app-config';
import { RecoveryEngine } from './recovery-engine';

const JOB = 'payment-reconciler';

/**
 * The safety net when the slot job does not run (Redis down or lost, RECOVERY_JOBS_ENABLED off): every
 * RECONCILER_CRON it claims the payments and refunds the database says are due (at least RECONCILER_GRACE_MS
 * overdue, so the slot job goes first), in batches of RECONCILER_BATCH_SIZE, with `FOR UPDATE SKIP LOCKED` —
 * any number of instances run it at once and no row is worked twice. Nothing here needs Redis or Bull.
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
    const total = await this.recovery.sweepDue(this.config.recovery.reconcilerGraceMs);
    if (total > 0) this.logger.log(`reconciler worked ${total} due payment(s) and refund(s)`);
    return total;
  }
}
