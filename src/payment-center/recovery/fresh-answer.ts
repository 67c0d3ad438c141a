import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DomainError } from '../../common/errors/domain-error';
import { REDIS } from '../../common/redis/redis.module';
import { AppConfig } from '../../config/app-config';
import { RecoveryEngine } from './recovery-engine';
import type { RecoveryKind } from './recovery-handler';

export class SyncTooSoon extends DomainError {
  readonly code = 'SYNC_TOO_SOON';
  constructor(kind: RecoveryKind, id: string, retryAfterSeconds: number) {
    super(
      `${kind === 'payment' ? 'Payment' : 'Refund'} ${id} was synced with the gateway less than ` +
        `${retryAfterSeconds} s ago; retry in ${retryAfterSeconds} s.`,
      { retryAfterSeconds, details: { id } },
    );
  }
}

/** Redis that does not answer this fast does not hold the sync up: the limit then lets it through. */
const LIMIT_TIMEOUT_MS = 250;

/**
 * A business application's "ask the vendor now" (POST …/sync): at most once per payment or refund per
 * PAYMENT_SYNC_INTERVAL (a Redis key with that lifetime), then the recovery engine works the row at once,
 * under the same claim as a scheduled attempt, and applies the answer through the same locked state change
 * as a notification, so a sync can never disagree with one. A sync that overlaps a scheduled attempt asks
 * twice: both answers go through that change, and the second changes nothing.
 */
@Injectable()
export class FreshAnswer {
  private readonly logger = new Logger(FreshAnswer.name);

  constructor(
    @Inject(RecoveryEngine) private readonly engine: RecoveryEngine,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  async ask(kind: RecoveryKind, id: string): Promise<'worked' | 'skipped'> {
    const key = `sync:${kind}:${id}`;
    const windowMs = this.config.recovery.syncIntervalMs;
    const taken = await this.withinLimit(this.redis.set(key, '1', 'PX', windowMs, 'NX'));
    if (taken === null) {
      const leftMs = (await this.withinLimit(this.redis.pttl(key))) ?? windowMs;
      throw new SyncTooSoon(kind, id, Math.max(1, Math.ceil(leftMs / 1000)));
    }
    return this.engine.runNow(kind, id);
  }

  /** A Redis answer, or undefined (let the sync through) when Redis fails or is slow. */
  private async withinLimit<T>(command: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        command,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), LIMIT_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      this.logger.warn(`sync limit not checked (${(error as Error).message}): the sync goes ahead`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
