import { readdirSync, readFileSync } from 'node:fs';
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

/** Processes whose CPU is part of what a benchmark measures: the services it drives. */
const SERVICES = new Set(['mariadbd', 'mysqld', 'redis-server', 'beam.smp', 'erl_child_setup', 'epmd']);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of one process, in ticks (0 if it is gone). */
function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The bench, its children (the app under test) and the services, by pid. */
function ourPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (Number(entry) === process.pid || ppid === process.pid || SERVICES.has(comm)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Busy ticks of the whole machine (all cores), from /proc/stat. */
function machineBusyTicks(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .map(Number);
  return user + nice + system + irq + softirq + steal;
}

/**
 * CPU the machine spent on anything but this benchmark while it measured (other users, a CI run, a
 * stolen share of a virtual CPU): the busy time of all cores minus that of the bench, its app and the
 * services. Start it once the app under test is up, stop it before the app stops. A figure measured with
 * other work on the machine says so, instead of looking like the app's own.
 */
export class ForeignCpu {
  private constructor(
    private readonly pids: number[],
    private readonly busy: number,
    private readonly ours: number,
    private readonly at: number,
  ) {}

  static start(): ForeignCpu {
    const pids = ourPids();
    return new ForeignCpu(pids, machineBusyTicks(), sumTicks(pids), Date.now());
  }

  /** Share of one core used by other work since start (0.5 = half a core). */
  stop(): number {
    const seconds = (Date.now() - this.at) / 1000;
    const foreign = machineBusyTicks() - this.busy - (sumTicks(this.pids) - this.ours);
    return Math.max(0, foreign / TICKS_PER_SECOND / seconds);
  }
}

function sumTicks(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + processTicks(pid), 0);
}

/** "0.03 cores" / "1.2 cores": how busy other work kept the machine during a measurement. */
export function foreignCpuText(cores: number): string {
  return `${cores.toFixed(2)} of ${cpus().length} cores`;
}
