import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { Redis } from 'ioredis';
import { REDIS } from '../common/redis/redis.module';
import { SnapshotCache } from '../metrics/snapshot-cache';
import { AmqpConnection } from '../notifications/amqp.connection';

/**
 * How long one check answers every probe. Load balancers, orchestrators and monitors each probe every few
 * seconds per instance; without this each probe was three round trips and, for RabbitMQ, a new connection
 * (a probe storm could exhaust the broker's connection limit and the database pool).
 */
export const HEALTH_CACHE_MS = 1000;

export interface HealthSnapshot {
  ok: boolean;
  report: HealthCheckResult;
  /** When the check this answer comes from ran. */
  checkedAt: string;
}

/** MariaDB, Redis and RabbitMQ, checked at most once per HEALTH_CACHE_MS whatever the number of callers. */
@Injectable()
export class HealthReport {
  private readonly cache = new SnapshotCache(() => this.check(), HEALTH_CACHE_MS);

  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(TypeOrmHealthIndicator) private readonly database: TypeOrmHealthIndicator,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(AmqpConnection) private readonly amqp: AmqpConnection,
  ) {}

  current(): Promise<HealthSnapshot> {
    return this.cache.get();
  }

  private async check(): Promise<HealthSnapshot> {
    const checkedAt = new Date().toISOString();
    try {
      const report = await this.health.check([
        () => this.database.pingCheck('database', { timeout: 2000 }),
        () =>
          this.indicators
            .check('redis')
            .attempt(async () => {
              await this.redis.ping();
            })
            .withTimeout(2000),
        () =>
          this.indicators
            .check('rabbitmq')
            .attempt(() => this.amqp.probe(2000))
            .withTimeout(3000),
      ]);
      return { ok: true, report, checkedAt };
    } catch (error) {
      // Terminus reports a component down by throwing its report; the cache keeps that answer too.
      if (error instanceof ServiceUnavailableException) {
        return { ok: false, report: error.getResponse() as HealthCheckResult, checkedAt };
      }
      throw error;
    }
  }
}

type Indicators = Partial<HealthCheckResult['details']>;

/** Each component's up/down only: error messages name hosts and ports ("connect ECONNREFUSED 10.0.3.7:6379"). */
export function withoutDetails(report: HealthCheckResult): HealthCheckResult {
  const statusOnly = (indicators: Indicators | undefined): HealthCheckResult['details'] =>
    Object.fromEntries(
      Object.entries(indicators ?? {}).flatMap(([name, result]) => (result ? [[name, { status: result.status }]] : [])),
    );
  return {
    status: report.status,
    info: statusOnly(report.info),
    error: statusOnly(report.error),
    details: statusOnly(report.details),
  };
}
