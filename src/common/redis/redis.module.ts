import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { AppConfig } from '../../config/app-config';

export const REDIS = Symbol('REDIS');

/**
 * What every Redis client of the app adds to REDIS_URL's options: with REDIS_SENTINELS, the sentinels and the
 * master name, so the client asks them where the master is at each (re)connect and checks that what it reached
 * is the master. Sentinel kills the clients of a master it demotes, but only once it can reach that master again:
 * the failover detector (a subscription to the sentinels' +switch-master) reconnects at once, so a client never
 * stays on a partitioned old master. Bull's clients take the same (app.module.ts); a `duplicate()` keeps them.
 */
export function redisSentinelOptions(config: AppConfig): Pick<RedisOptions, 'sentinels' | 'name' | 'failoverDetector'> {
  if (!config.redisSentinel) return {};
  return {
    sentinels: config.redisSentinel.sentinels.map(({ host, port }) => ({ host, port })),
    name: config.redisSentinel.name,
    failoverDetector: true,
  };
}

/**
 * One ioredis client for request-path work. It fails fast instead of queueing commands while Redis is
 * down (no offline queue, one retry, short command timeout): callers that can live without Redis (the
 * duplicate-submission guard) fall back to the database instead of hanging the request.
 */
async function createRedis(config: AppConfig): Promise<Redis> {
  const logger = new Logger('Redis');
  const client = new Redis(config.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
    ...redisSentinelOptions(config),
  });
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) logger.warn(`Redis unavailable: ${error.message}`);
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.log('Redis reachable again');
    down = false;
  });
  // Give the connection a moment at boot so the first requests are guarded; a Redis that is down does
  // not stop the app (the guard fails open to the database).
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return client;
}

/**
 * Bull's `redis` options, over what Bull reads from REDIS_URL itself (host, port, username, password, db): TLS,
 * which its URL reader drops (a rediss:// URL would be dialled in plain text), and the sentinels.
 */
export function bullRedisOptions(config: AppConfig): RedisOptions {
  return { ...(/^rediss:/i.test(config.redisUrl) ? { tls: {} } : {}), ...redisSentinelOptions(config) };
}

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}

@Global()
@Module({
  providers: [{ provide: REDIS, inject: [AppConfig], useFactory: createRedis }, RedisCloser],
  exports: [REDIS],
})
export class RedisModule {}
