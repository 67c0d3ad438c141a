import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Cron, CronExpression, SchedulerRegistry } from '@nestjs/schedule';
import { startConfiguredCron, stopConfiguredCron } from '../common/configured-cron';
import { beijingDate } from '../common/beijing-time';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { ReconciliationService } from './reconciliation.service';

const JOB = 'statement-reconciliation';

/**
 * The daily run: at each RECONCILIATION_CRON tick (Beijing time) every configured channel's statement for
 * yesterday is reconciled, unless that day already has a result — so a bill that was not ready at 10:30
 * is tried again an hour later.
 */
@Injectable()
export class ReconciliationJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconciliationJob.name);
  private running?: Promise<void>;

  constructor(
    @Inject(ReconciliationService) private readonly reconciliation: ReconciliationService,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(SchedulerRegistry) private readonly scheduler: SchedulerRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    startConfiguredCron(this.scheduler, JOB, { ...this.config.reconciliation, timeZone: 'Asia/Shanghai' });
  }

  async onApplicationShutdown(): Promise<void> {
    await stopConfiguredCron(this.scheduler, JOB);
    await this.running;
  }

  @Cron(CronExpression.EVERY_HOUR, { name: JOB, disabled: true, waitForCompletion: true })
  async tick(): Promise<void> {
    this.running = this.runYesterday();
    await this.running;
  }

  private async runYesterday(): Promise<void> {
    const billDate = beijingDate(new Date(this.clock.now().getTime() - 24 * 3600 * 1000));
    // Bills are per merchant: every account of every channel is reconciled on its own.
    for (const channel of this.gateways.channels()) {
      for (const account of await this.gateways.accountsOf(channel)) {
        const what = `reconciliation ${channel}/${account} ${billDate}`;
        try {
          if (await this.reconciliation.done(channel, billDate, account)) continue;
          const run = await this.reconciliation.run(channel, billDate, 'schedule', account);
          this.logger.log(`${what}: ${run.status} (${run.differences} differences)`);
        } catch (error) {
          this.logger.error(`${what} failed: ${(error as Error).message}`);
        }
      }
    }
  }
}
