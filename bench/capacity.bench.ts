import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { promisify } from 'node:util';
import type { Pool } from 'mysql2/promise';
import { countCheckout, httpCheckouts, perCheckout } from './checkout.bench';
import { relayBacklog, seedOutbox } from './relay.bench';
import { type AppCounters, AppProcess, type LockedTable } from './support/app-process';
import {
  capacityGrid,
  type CapacityInputs,
  type Projection,
  projectCheckouts,
  type Resource,
} from './support/capacity-model';
import { rawPool, rows } from './support/database';
import { appEnvironment } from './support/environment';
import { percentile, sleep, takeTurns } from './support/load';
import { APP, BENCH, CoreBusy, MachineCpu } from './support/machine';
import { type BenchContext, ms, num, ratio, type Section, table } from './support/report';
import { purgeBenchQueue } from './support/services';

const run = promisify(execFile);

/** Connections of the load (split evenly across the apps when there are two). */
const CONNECTIONS = 16;
/** Rounds of the 1-vs-2-processes comparison, each set-up taking its turn per round (odd: the median is a round's). */
const ROUNDS = 5;
/** Checkouts counted one by one at 4 connections (countCheckout): statements, Redis, lock holds at light load. */
const COUNTED = 200;
const INSTANCES = [1, 2, 4, 8, 16];
const DATABASE_CORES = [2, 4, 8, 16, 32];
/** The app's DB_POOL_SIZE default: N instances open up to N times as many connections. */
const POOL_SIZE = 20;
const APP_CORE = '1';
const LOAD_CORE = '0';

/** Pins every thread of a process to the cores `cores` names (taskset's list form, e.g. `1` or `0-1`). */
async function pin(pid: number, cores: string): Promise<void> {
  await run('taskset', ['--all-tasks', '--cpu-list', '--pid', cores, String(pid)]);
}

async function outboxEvents(pool: Pool): Promise<number> {
  const [row] = await rows<{ n: number }>(pool, 'SELECT COUNT(*) AS n FROM outbox_events');
  return Number(row.n);
}

/** How bench/app-server.ts times a row lock. */
const LOCK_HOW =
  'in a transaction: its first statement that locked the row (`FOR UPDATE`, INSERT, UPDATE) answered → its ' +
  'COMMIT answered; an autocommitted UPDATE: sent → answered';

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

/** One round of checkouts spread over `apps` (the connections split evenly), with the machine's CPU by core. */
async function spreadRound(apps: AppProcess[], seconds: number) {
  await sleep(300);
  const cores = CoreBusy.start();
  const cpu = MachineCpu.start();
  const runs = await Promise.all(apps.map((app) => httpCheckouts(app.url, CONNECTIONS / apps.length, seconds)));
  const checkouts = runs.reduce((sum, r) => sum + r.checkouts.count, 0);
  const machine = perCheckout(cpu, checkouts);
  return {
    perSecond: runs.reduce((sum, r) => sum + r.checkouts.perSecond, 0),
    appMs: machine.byProcess.get(APP)!,
    coreBusy: cores.stop(),
  };
}
type SpreadRound = Awaited<ReturnType<typeof spreadRound>>;

const medianRound = (rounds: SpreadRound[]) => {
  const middle = (pick: (r: SpreadRound) => number) => percentile(sorted(rounds.map(pick)), 50);
  return {
    perSecond: middle((r) => r.perSecond),
    appMs: middle((r) => r.appMs),
    coreBusy: rounds[0].coreBusy.map((_, core) => middle((r) => r.coreBusy[core])),
  };
};

const SHORT: Record<Resource, string> = {
  'app main thread': 'app thread',
  'app cores': 'app cores',
  'MariaDB CPU': 'DB CPU',
  'outbox relay': 'relay',
};
const cell = (p: Projection) => `${num(p.perSecond)} (${SHORT[p.binding]})`;

/**
 * The capacity model past one machine: what one checkout costs each resource (the app's main thread and
 * process, MariaDB's CPU, statements, Redis commands, row-lock hold times) and one instance's relay rate,
 * measured in one app; the checkouts/s they project for N instances against a MariaDB of C cores; and the
 * slope checked where this machine can check it, 1 against 2 app processes pinned to one core.
 */
export async function capacityBench(context: BenchContext): Promise<Section> {
  const seconds = context.seconds(8);
  const pool = rawPool(4);
  const relayEvents = context.quick ? 500 : 3000;
  let relayPerSecond: number;
  let counted: Awaited<ReturnType<typeof countCheckout>>;
  let measured: { perSecond: number; checkouts: number; byProcess: Map<string, number>; mainThreadMs: number };
  let eventsPerCheckout: number;
  let lockHolds: AppCounters['lockHoldMs'];
  let lightHolds: AppCounters['lockHoldMs'];
  let maxConnections: number;

  // The relay's poll timer is far away, so that only the kick starts it on the seeded backlog; a checkout's
  // commit kicks it as in production.
  const app = await AppProcess.start(appEnvironment({ RELAY_POLL_INTERVAL_MS: '60000' }));
  try {
    context.log(`capacity: relay, ${relayEvents} events`);
    const warm = await seedOutbox(pool, 200);
    await relayBacklog(app, pool, warm.ids);
    relayPerSecond = await relayBacklog(app, pool, (await seedOutbox(pool, relayEvents)).ids);
    await purgeBenchQueue();

    context.log(`capacity: ${COUNTED} checkouts counted at 4 connections`);
    await httpCheckouts(app.url, 8, context.seconds(3));
    counted = await countCheckout(app, COUNTED);
    lightHolds = (await app.counters()).lockHoldMs;

    context.log(`capacity: ${CONNECTIONS} connections for ${seconds} s, CPU by process and lock hold times`);
    const eventsBefore = await outboxEvents(pool);
    await sleep(300);
    await app.count();
    const cpu = MachineCpu.start();
    const load = await httpCheckouts(app.url, CONNECTIONS, seconds);
    const machine = perCheckout(cpu, load.checkouts.count);
    const counters = await app.counters();
    eventsPerCheckout = ((await outboxEvents(pool)) - eventsBefore) / load.checkouts.count;
    lockHolds = counters.lockHoldMs;
    measured = {
      perSecond: load.checkouts.perSecond,
      checkouts: load.checkouts.count,
      byProcess: machine.byProcess,
      mainThreadMs: machine.mainThreadMs,
    };
    const [settings] = await rows<{ max: number }>(pool, 'SELECT @@max_connections AS max');
    maxConnections = Number(settings.max);
  } finally {
    await app.stop();
  }
  await purgeBenchQueue();

  const inputs: CapacityInputs = {
    appMainThreadMs: measured.mainThreadMs,
    appProcessMs: measured.byProcess.get(APP)!,
    databaseMs: measured.byProcess.get('MariaDB')!,
    eventsPerCheckout,
    relayEventsPerSecond: relayPerSecond,
    appCoresPerInstance: cpus().length,
  };
  const grid = capacityGrid(inputs, INSTANCES, DATABASE_CORES);

  // The validation: the bench (the load generator) on one core, the app processes on the other, MariaDB and
  // the other services free to run on either. Both apps run throughout; the set-ups take turns.
  context.log(`capacity: 1 against 2 app processes pinned to core ${APP_CORE}, load on core ${LOAD_CORE}`);
  const apps = [await AppProcess.start(appEnvironment()), await AppProcess.start(appEnvironment())];
  let validation: [SpreadRound[], SpreadRound[]];
  try {
    await pin(process.pid, LOAD_CORE);
    for (const each of apps) await pin(each.pid, APP_CORE);
    for (const each of apps) await httpCheckouts(each.url, 8, context.seconds(2));
    const [one, two] = await takeTurns(2, context.quick ? 1 : ROUNDS, (which) =>
      spreadRound(which === 0 ? apps.slice(0, 1) : apps, seconds),
    );
    validation = [one, two];
  } finally {
    await pin(process.pid, `0-${cpus().length - 1}`);
    await Promise.all(apps.map((each) => each.stop()));
  }
  await purgeBenchQueue();
  await pool.end();

  const [one, two] = validation.map(medianRound);
  // What the model says for the pinned set-up: the apps share one core, so N instances have 1 / N core each.
  const pinned = (n: number) => projectCheckouts({ ...inputs, appCoresPerInstance: 1 / n }, n, cpus().length);
  const predicted = [pinned(1), pinned(2)];
  const measuredGain = two.perSecond / one.perSecond;
  const predictedGain = predicted[1].perSecond / predicted[0].perSecond;
  const holds = (all: AppCounters['lockHoldMs'], table: LockedTable, checkouts: number) => {
    const values = sorted(all[table]);
    return `p50 ${ms(percentile(values, 50))}, p99 ${ms(percentile(values, 99))} (${num(values.length / checkouts)} per checkout)`;
  };
  const holdRow = (name: string, table: LockedTable) => [
    name,
    `${CONNECTIONS} connections: ${holds(lockHolds, table, measured.checkouts)}; 4 connections: ${holds(lightHolds, table, COUNTED)}`,
    LOCK_HOW,
  ];
  const instancesOver = INSTANCES.filter((n) => n * POOL_SIZE > maxConnections);

  const markdown = [
    `What one checkout (\`POST /api/orders\` then its pay, WeChat, the vendor answering at once) costs each ` +
      `resource, measured in one app at ${CONNECTIONS} connections for ${seconds} s (${num(measured.perSecond)} ` +
      `checkouts/s, the machine's CPU by process from /proc), and one instance's relay rate from a seeded backlog:`,
    '',
    table(
      ['per checkout', 'measured', 'how'],
      [
        ['app CPU, main thread', ms(inputs.appMainThreadMs), 'the thread that runs JavaScript, /proc'],
        ['app CPU, whole process', ms(inputs.appProcessMs), 'GC, compiler and libuv threads too'],
        ['MariaDB CPU', ms(inputs.databaseMs), 'all of mariadbd, /proc'],
        ['this bench (load generator)', ms(measured.byProcess.get(BENCH)!), 'not in the model'],
        [
          'SQL statements / transactions',
          `${num(counted.statements)} / ${num(counted.transactions)}`,
          `the app's counters, ${COUNTED} checkouts at 4 connections`,
        ],
        ['Redis commands', num(counted.redis), "the guard's client"],
        ['outbox events', num(eventsPerCheckout), 'rows the checkouts added'],
        holdRow('payment intent row lock held', 'payment_intents'),
        holdRow('payment row lock held', 'payments'),
        ['relay, one instance', `${num(relayPerSecond)} events/s`, `${relayEvents} seeded events, one kick`],
      ],
    ),
    '',
    `**Projected checkouts/s** for N app instances, each on a host of ${inputs.appCoresPerInstance} cores as this ` +
      `one, against one MariaDB of C cores, and the resource that saturates first ` +
      `(bench/support/capacity-model.ts): the least of N × 1000 / main-thread ms (one JavaScript thread per ` +
      `instance), N × ${inputs.appCoresPerInstance} × 1000 / process ms (the instance's cores), C × 1000 / MariaDB ms, ` +
      `and N × relay events/s ÷ events per checkout.`,
    '',
    table(
      ['N \\ C', ...DATABASE_CORES.map((c) => `C = ${c}`)],
      grid.map((row, i) => [
        `N = ${INSTANCES[i]}${instancesOver.includes(INSTANCES[i]) ? ' †' : ''}`,
        ...row.map(cell),
      ]),
    ),
    '',
    `Assumptions: MariaDB's CPU per checkout stays as measured and its throughput grows linearly with its cores ` +
      `(no contention on its latches, the redo log's group commit or the disk beyond what this machine showed); ` +
      `row locks bound one order's rate, not the total (different orders lock different intent and payment rows, ` +
      `so the hold times above are latency, not a ceiling of the sum: what touches one order, a pay and a ` +
      `callback racing it, waits in turn, at most about ${num(1000 / percentile(sorted(lightHolds.payment_intents), 50))} ` +
      `a second on one intent at light load; at ${CONNECTIONS} connections the hold includes the app's event-loop ` +
      `queue between a transaction's statements); the relays of all instances share the ` +
      `backlog (SKIP LOCKED) and RabbitMQ's own ceiling is not modelled; the load generator, the network, Redis ` +
      `and RabbitMQ are not counted.` +
      (instancesOver.length > 0
        ? ` † N × DB_POOL_SIZE (${POOL_SIZE}) exceeds this MariaDB's max_connections (${maxConnections}): lower ` +
          `DB_POOL_SIZE or raise max_connections ([docs/scaling.md](../docs/scaling.md)).`
        : ''),
    '',
    `**The slope, on this machine.** Only one part of it can be checked here. The bench process (the load ` +
      `generator) is pinned to core ${LOAD_CORE} and the app processes to core ${APP_CORE} (\`taskset\`); MariaDB, ` +
      `Redis and RabbitMQ float over both cores. One app process, then two (the same ${CONNECTIONS} connections ` +
      `split evenly), both apps running throughout and taking turns for ${validation[0].length} rounds of ${seconds} s ` +
      `(medians). With both on one core each instance has half a core, so the model's binding resource is the app ` +
      `core for N = 1 and N = 2 alike and it predicts no gain: adding an instance helps only when it brings cores ` +
      `(or a main thread) with it.`,
    '',
    table(
      [
        '',
        'checkouts/s measured',
        'model',
        'binding (model)',
        'app CPU per checkout',
        `core ${LOAD_CORE} / core ${APP_CORE} busy`,
        'checkouts/s of each round',
      ],
      [one, two].map((m, i) => [
        `${i + 1} app process${i === 0 ? '' : 'es'}`,
        num(m.perSecond),
        num(predicted[i].perSecond),
        predicted[i].binding,
        ms(m.appMs),
        m.coreBusy.map((busy) => `${(busy * 100).toFixed(0)}%`).join(' / '),
        validation[i].map((r) => num(r.perSecond)).join(', '),
      ]),
    ),
    '',
    `Gain from 1 to 2 processes: measured **${ratio(two.perSecond, one.perSecond)}**, model ` +
      `**${ratio(predicted[1].perSecond, predicted[0].perSecond)}**. The model's absolute figure for the pinned ` +
      `set-up assumes the app core is the apps' alone; MariaDB floats onto it, so the measured figure is lower by ` +
      `about its share of core ${APP_CORE}. What this machine cannot show: the slope where each instance brings its ` +
      `own cores (2 cores hold the load generator, MariaDB and the apps already), nor MariaDB's growth with cores ` +
      `(it shares the same 2 cores); those rest on the measured costs per checkout and the assumptions above.`,
  ].join('\n');

  const best = grid.at(-1)!.at(-1)!;
  return {
    title: 'Capacity model: N instances, C database cores',
    markdown,
    summary: [
      {
        item: `Capacity model: 1 → 2 app processes on one pinned core (load on the other)`,
        ours: `${ratio(two.perSecond, one.perSecond)} measured`,
        ceiling: `${ratio(predicted[1].perSecond, predicted[0].perSecond)} predicted`,
        ratio: ratio(measuredGain, predictedGain),
        target: 'within 15% of the model',
        met: Math.abs(measuredGain / predictedGain - 1) <= 0.15,
      },
      {
        item: `Capacity model: N = ${INSTANCES.at(-1)}, C = ${DATABASE_CORES.at(-1)} (projected)`,
        ours: `${num(best.perSecond)} checkouts/s`,
        ceiling: '',
        ratio: '',
        target: '',
        met: undefined,
      },
    ],
  };
}
