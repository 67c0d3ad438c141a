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

/** Where a process's CPU counts: the services a benchmark drives, by command name. */
const SERVICES: Record<string, string> = {
  mariadbd: 'MariaDB',
  mysqld: 'MariaDB',
  'redis-server': 'Redis',
  'beam.smp': 'RabbitMQ',
  erl_child_setup: 'RabbitMQ',
  epmd: 'RabbitMQ',
};
export const BENCH = 'this bench (load generator, raw client)';
export const APP = 'the app under test';
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of one process (or, with `thread`, of that thread of it), in ticks (0 if it is gone). */
function processTicks(pid: number, thread?: number): number {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The bench, its children (the app under test) and the services, by pid, with the group each counts for. */
function ourProcesses(): Map<number, string> {
  const found = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const pid = Number(entry);
      const group = pid === process.pid ? BENCH : ppid === process.pid ? APP : SERVICES[comm];
      if (group) found.set(pid, group);
    } catch {
      // gone meanwhile
    }
  }
  return found;
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

/** Everything else the machine's cores were busy with: other processes, interrupts, a stolen vCPU share. */
export const ELSEWHERE = 'anything else (other processes, interrupts, steal)';

/**
 * CPU the machine spent while a benchmark measured, by who spent it: the app under test (this process's
 * children), this process, each service, and anything else. Start it once the app under test is up, stop it
 * before the app stops. Counted from /proc in ticks of 10 ms, so a window should hold a few hundred of them.
 */
export class MachineCpu {
  private constructor(
    private readonly processes: Map<number, string>,
    private readonly ticks: Map<number, number>,
    private readonly mainThreads: Map<number, number>,
    private readonly busy: number,
    private readonly at: number,
  ) {}

  static start(): MachineCpu {
    const processes = ourProcesses();
    const ticks = new Map([...processes.keys()].map((pid) => [pid, processTicks(pid)]));
    const apps = [...processes].filter(([, group]) => group === APP).map(([pid]) => pid);
    const mainThreads = new Map(apps.map((pid) => [pid, processTicks(pid, pid)]));
    return new MachineCpu(processes, ticks, mainThreads, machineBusyTicks(), Date.now());
  }

  /**
   * Milliseconds of CPU by group since start (every group present, ELSEWHERE last), the part of the app's that
   * its main thread (the one that runs JavaScript) used, and the seconds measured.
   */
  stop(): { seconds: number; ms: Map<string, number>; appMainThreadMs: number } {
    const seconds = (Date.now() - this.at) / 1000;
    const ms = new Map<string, number>([APP, BENCH, 'MariaDB', 'Redis', 'RabbitMQ'].map((group) => [group, 0]));
    let ours = 0;
    for (const [pid, group] of this.processes) {
      const used = processTicks(pid) - this.ticks.get(pid)!;
      ours += used;
      ms.set(group, ms.get(group)! + (used * 1000) / TICKS_PER_SECOND);
    }
    const elsewhere = machineBusyTicks() - this.busy - ours;
    ms.set(ELSEWHERE, Math.max(0, (elsewhere * 1000) / TICKS_PER_SECOND));
    let mainThread = 0;
    for (const [pid, at] of this.mainThreads) mainThread += processTicks(pid, pid) - at;
    return { seconds, ms, appMainThreadMs: (mainThread * 1000) / TICKS_PER_SECOND };
  }
}

/**
 * CPU the machine spent on anything but this benchmark while it measured (other users, a CI run, a
 * stolen share of a virtual CPU): the busy time of all cores minus that of the bench, its app and the
 * services. A figure measured with other work on the machine says so, instead of looking like the app's own.
 */
export class ForeignCpu {
  private constructor(private readonly cpu: MachineCpu) {}

  static start(): ForeignCpu {
    return new ForeignCpu(MachineCpu.start());
  }

  /** Share of one core used by other work since start (0.5 = half a core). */
  stop(): number {
    const { seconds, ms } = this.cpu.stop();
    return ms.get(ELSEWHERE)! / 1000 / seconds;
  }
}

/** "0.03 cores" / "1.2 cores": how busy other work kept the machine during a measurement. */
export function foreignCpuText(cores: number): string {
  return `${cores.toFixed(2)} of ${cpus().length} cores`;
}

/** Busy and total ticks of each core, from the `cpuN` lines of /proc/stat. */
function coreTicks(): { busy: number; total: number }[] {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((line) => /^cpu\d+ /.test(line))
    .map((line) => {
      const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
      const busy = user + nice + system + irq + softirq + steal;
      return { busy, total: busy + idle + iowait };
    });
}

/** How busy each core was (0 to 1) from start to stop: to show which pinned core a measurement saturated. */
export class CoreBusy {
  private constructor(private readonly at: { busy: number; total: number }[]) {}

  static start(): CoreBusy {
    return new CoreBusy(coreTicks());
  }

  stop(): number[] {
    return coreTicks().map((now, core) => {
      const total = now.total - this.at[core].total;
      return total > 0 ? (now.busy - this.at[core].busy) / total : NaN;
    });
  }
}
