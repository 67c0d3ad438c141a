import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../../config/app-config';

export const REDIS = Symbol('REDIS');

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
