import type { AppConfig } from '../../config/app-config';
import { bullRedisOptions, redisSentinelOptions } from './redis.module';

const config = (redisUrl: string, redisSentinel?: AppConfig['redisSentinel']) =>
  ({ redisUrl, redisSentinel }) as AppConfig;

describe("the Redis clients' options", () => {
  it('without REDIS_SENTINELS: nothing over REDIS_URL', () => {
    expect(redisSentinelOptions(config('redis://127.0.0.1:6379/3'))).toEqual({});
    expect(bullRedisOptions(config('redis://127.0.0.1:6379/3'))).toEqual({});
  });

  it('with REDIS_SENTINELS: the sentinels, the master name and the failover detector, for Bull too', () => {
    const sentinel = { sentinels: [{ host: '10.0.0.5', port: 26379 }], name: 'pc' };
    const expected = { sentinels: [{ host: '10.0.0.5', port: 26379 }], name: 'pc', failoverDetector: true };
    expect(redisSentinelOptions(config('redis://:pw@ignored:6379/3', sentinel))).toEqual(expected);
    expect(bullRedisOptions(config('redis://:pw@ignored:6379/3', sentinel))).toEqual(expected);
  });

  it("rediss:// keeps TLS for Bull, whose URL reader drops it (ioredis's own reader keeps it)", () => {
    expect(bullRedisOptions(config('rediss://:pw@redis.internal:6380/3'))).toEqual({ tls: {} });
  });
});
