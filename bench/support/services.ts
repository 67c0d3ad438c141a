import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { partnerQueue } from '../../src/notifications/payment-event';
import { BENCH_PARTNER, BENCH_QUEUE_PREFIX, BENCH_RABBITMQ_URL, BENCH_REDIS_URL, BENCH_VHOST } from './environment';

const run = promisify(execFile);

/** The benchmark's own RabbitMQ virtual host, created (with guest's permissions) when it is missing. */
export async function ensureVhost(): Promise<void> {
  try {
    const connection = await connect(BENCH_RABBITMQ_URL);
    await connection.close();
    return;
  } catch {
    // not there yet (or no permission): create it
  }
  try {
    await run('rabbitmqctl', ['-q', 'add_vhost', BENCH_VHOST], { timeout: 60_000 });
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', BENCH_VHOST, 'guest', '.*', '.*', '.*'], {
      timeout: 60_000,
    });
  } catch (error) {
    throw new Error(
      `RabbitMQ virtual host ${BENCH_VHOST} is missing and rabbitmqctl could not create it (${String(error)}); ` +
        `create it with: rabbitmqctl add_vhost ${BENCH_VHOST} && ` +
        `rabbitmqctl set_permissions -p ${BENCH_VHOST} guest '.*' '.*' '.*'`,
      { cause: error },
    );
  }
}

/** Empties the bench partner's queue, so events of one run do not pile up in the broker. */
export async function purgeBenchQueue(): Promise<void> {
  const connection = await connect(BENCH_RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await channel.purgeQueue(partnerQueue(BENCH_PARTNER.name)).catch(() => undefined);
  } finally {
    await connection.close();
  }
}

/**
 * Removes what the benchmark's app left in its Redis database: duplicate-submission keys and the Bull
 * queue (the recovery slot job). Only that database number, only those prefixes.
 */
export async function clearBenchRedis(): Promise<void> {
  const redis = new Redis(BENCH_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    for (const pattern of ['idem:*', `${BENCH_QUEUE_PREFIX}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
