import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { rawPool, rows } from './database';
import { BENCH_RABBITMQ_URL, BENCH_REDIS_URL } from './environment';
import { table } from './report';

const PACKAGES = [
  '@nestjs/core',
  'typeorm',
  'mysql2',
  'ioredis',
  'bull',
  'amqplib',
  'amqp-connection-manager',
  'nestjs-pino',
  'pino',
  'autocannon',
];

function packageVersion(name: string): string {
  try {
    const manifest = readFileSync(join(process.cwd(), 'node_modules', name, 'package.json'), 'utf8');
    return (JSON.parse(manifest) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function mariadb(): Promise<{ version: string; settings: string }> {
  const pool = rawPool(1);
  try {
    const [{ version }] = await rows<{ version: string }>(pool, 'SELECT VERSION() AS version');
    const settings = await rows<{ Variable_name: string; Value: string }>(
      pool,
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN
         ('innodb_flush_log_at_trx_commit', 'innodb_buffer_pool_size', 'log_bin', 'sync_binlog')`,
    );
    return { version, settings: settings.map((s) => `${s.Variable_name}=${s.Value}`).join(', ') };
  } finally {
    await pool.end();
  }
}

async function redisVersion(): Promise<string> {
  const redis = new Redis(BENCH_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  } finally {
    redis.disconnect();
  }
}

async function rabbitmqVersion(): Promise<string> {
  const connection = await connect(BENCH_RABBITMQ_URL);
  try {
    const properties = (connection.connection as unknown as { serverProperties?: { version?: string } })
      .serverProperties;
    return properties?.version ?? '?';
  } finally {
    await connection.close();
  }
}

/** The "where and with what" part of RESULTS.md. */
export async function machineReport(startedAt: Date, quick: boolean): Promise<string> {
  const cpu = cpus();
  const db = await mariadb();
  const lines = [
    ['Date', `${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC${quick ? ' (--quick run)' : ''}`],
    ['CPU', `${cpu[0]?.model ?? '?'}, ${cpu.length} cores`],
    ['RAM', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['OS', `Linux ${release()}, load average at start ${loadavg()[0].toFixed(2)}`],
    ['Node.js', process.version],
    ['MariaDB', `${db.version} (${db.settings})`],
    ['Redis', await redisVersion()],
    ['RabbitMQ', await rabbitmqVersion()],
    ['Packages', PACKAGES.map((name) => `${name} ${packageVersion(name)}`).join(', ')],
  ];
  return table(['', ''], lines);
}
