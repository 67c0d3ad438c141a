import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock';

/** Deletes the database copies of expired duplicate-submission keys, in small batches, every minute. */
@Injectable()
export class IdempotencyKeyPurger {
  private readonly logger = new Logger(IdempotencyKeyPurger.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @Interval(60_000)
  async purgeExpired(batchSize = 1000): Promise<number> {
    try {
      const result = await this.dataSource.query<{ affectedRows: number }>(
        'DELETE FROM idempotency_keys WHERE expires_at < ? LIMIT ?',
        [this.clock.now(), batchSize],
      );
      return result.affectedRows;
    } catch (error) {
      this.logger.warn(`could not purge expired idempotency keys: ${(error as Error).message}`);
      return 0;
    }
  }
}
