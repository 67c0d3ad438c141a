import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { REDIS } from '../../common/redis/redis.module';
import { runSql } from '../../database/sql';
import type { Channel } from '../../gateways/gateway.types';

/**
 * How long Redis remembers an applied notification: a bit over WeChat's 5-minute timestamp window, outside
 * of which the signature check refuses a replay anyway.
 */
export const REPLAY_MEMORY_MS = 6 * 60_000;

/**
 * How long the database keeps applied ids: longer than the vendors' whole resend schedules (WeChat about
 * 24 h 4 min, Alipay about 25 h), so a resend of an applied notification is known by its id all that time.
 */
export const APPLIED_RETENTION_MS = 48 * 3600_000;

const keyOf = (channel: Channel, notificationId: string) => `notify:${channel}:${notificationId}`;

/**
 * Remembers which vendor notifications were applied, by the vendor's id of each. The database is the truth:
 * the id is inserted in the transaction that applies the notification, so it is recorded exactly when the
 * notification was applied, and a second transaction with the same id (a replay, even a concurrent one)
 * finds it. Redis is a fast path in front: a replay inside the window is acknowledged without a transaction;
 * when Redis is down or forgot, the database still decides, so no first delivery is lost and none is applied
 * twice.
 */
@Injectable()
export class NotificationReplays {
  private readonly logger = new Logger(NotificationReplays.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** Redis says this notification was applied. False when it does not know or cannot say. */
  async seenRecently(channel: Channel, notificationId: string): Promise<boolean> {
    try {
      return (await this.redis.exists(keyOf(channel, notificationId))) === 1;
    } catch {
      return false; // Redis down: the database decides in the applying transaction
    }
  }

  /**
   * Records the id in the applying transaction. False when it is recorded already: a committed transaction
   * applied this notification (a concurrent one holding it makes this wait for its outcome).
   */
  async claim(manager: EntityManager, channel: Channel, notificationId: string): Promise<boolean> {
    const result = await runSql<{ affectedRows: number }>(
      this.dataSource,
      manager,
      'INSERT IGNORE INTO applied_notifications (channel, notification_id, applied_at) VALUES (?, ?, ?)',
      [channel, notificationId, this.clock.now()],
    );
    return result.affectedRows === 1;
  }

  /** After the commit: the next replay inside the window is answered from Redis. Not waited for. */
  remember(channel: Channel, notificationId: string): void {
    this.redis.set(keyOf(channel, notificationId), '1', 'PX', REPLAY_MEMORY_MS).catch(() => undefined);
  }

  @Interval(60_000)
  async purgeExpired(batchSize = 1000): Promise<number> {
    try {
      const result = await runSql<{ affectedRows: number }>(
        this.dataSource,
        undefined,
        'DELETE FROM applied_notifications WHERE applied_at < ? LIMIT ?',
        [new Date(this.clock.now().getTime() - APPLIED_RETENTION_MS), batchSize],
      );
      return result.affectedRows;
    } catch (error) {
      this.logger.warn(`could not purge applied notification ids: ${(error as Error).message}`);
      return 0;
    }
  }
}
