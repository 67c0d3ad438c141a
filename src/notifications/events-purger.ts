import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { OutboxRepository } from './outbox.repository';

/** Batches of one run at most (a backlog after a long outage drains over a few minutes, not in one long run). */
const MAX_BATCHES_PER_RUN = 50;

/**
 * Deletes events older than EVENTS_RETENTION that every partner has had (published, every delivery PUBLISHED), with
 * their delivery records, every minute, in batches of 1000, each in a short transaction of its own. The events
 * API and the admin deliveries list lose them; a partner that still owes one keeps it.
 */
@Injectable()
export class EventsPurger {
  private readonly logger = new Logger(EventsPurger.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(OutboxRepository) private readonly outbox: OutboxRepository,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /**
   * During a rolling deploy, instances of the version before `outbox_events.application_id` write events without
   * it, after the migration has filled the column: those of the last day get it here, every minute, or they would
   * be in no application's feed.
   */
  @Interval(60_000)
  async fillApplicationIds(): Promise<number> {
    try {
      return await this.outbox.fillMissingApplicationIds(new Date(this.clock.now().getTime() - 86_400_000), 1000);
    } catch (error) {
      this.logger.warn(`could not fill events' application ids: ${(error as Error).message}`);
      return 0;
    }
  }

  @Interval(60_000)
  async purgeExpired(batchSize = 1000): Promise<number> {
    const olderThan = new Date(this.clock.now().getTime() - this.config.events.retentionMs);
    let purged = 0;
    try {
      for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
        const deleted = await inTransaction(this.dataSource, (manager) =>
          this.outbox.purgePublishedBefore(manager, olderThan, batchSize),
        );
        purged += deleted;
        if (deleted < batchSize) break;
      }
    } catch (error) {
      this.logger.warn(`could not purge expired events: ${(error as Error).message}`);
    }
    return purged;
  }
}
