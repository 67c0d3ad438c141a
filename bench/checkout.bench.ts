import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type autocannon from 'autocannon';
import { BENCH_ACCOUNTS, openBenchAccounts } from './support/accounts';
import { BENCH_ACCOUNTS_AUTH, BENCH_AUTH } from './support/api-key';
import { AppProcess } from './support/app-process';
import { rawPool } from './support/database';
import { appEnvironment } from './support/environment';
import {
  closedLoop,
  type Figures,
  fixedRate,
  httpLoad,
  type HttpFigures,
  LatencyRecorder,
  percentile,
  postForAnswer,
  sleep,
  takeTurns,
} from './support/load';
import { APP, ForeignCpu, foreignCpuText, MachineCpu } from './support/machine';
import { rawCheckout } from './support/raw-checkout';
import { type BenchContext, ms, num, ratio, type Section, table } from './support/report';

export const ORDER = (buyerId: string) =>
  JSON.stringify({ buyerId, items: [{ sku: 'TEA-001', name: 'Longjing tea 250g', quantity: 2, unitPriceFen: 1250 }] });
const JSON_HEADERS = { 'content-type': 'application/json', ...BENCH_AUTH };
/** The DB pool of the app (DB_POOL_SIZE default): the raw loop gets the same number of connections. */
const POOL = 20;
export const RATE = 200;

let buyers = 0;
export const nextBuyer = () => `bench-${process.pid}-${(buyers++).toString(36)}`;

/**
 * Who checks out, and the pay request's body: the bench shop on the default account unless told. `paid`, when
 * given, says whether a pay's answer is the one measured (anything else counts as a failed checkout).
 */
export interface Shopper {
  headers: Record<string, string>;
  payBody: () => string;
  paid?: (body: string) => boolean;
}
export const DEFAULT_SHOPPER: Shopper = { headers: JSON_HEADERS, payBody: () => JSON.stringify({ channel: 'wechat' }) };

/**
 * One checkout per autocannon connection turn: POST /api/orders, then POST /api/orders/:orderNo/pay with
 * the order number from the first answer. The checkout's latency (both requests) is timed here.
 */
function checkoutRequests(recorder: LatencyRecorder, shopper = DEFAULT_SHOPPER): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: '/api/orders',
      headers: shopper.headers,
      setupRequest: (request, context) => {
        context.startedAt = performance.now();
        return { ...request, body: ORDER(nextBuyer()) };
      },
      onResponse: (status, body, context) => {
        if (status === 201) context.orderNo = (JSON.parse(body) as { orderNo: string }).orderNo;
        else recorder.failures += 1;
      },
    },
    {
      method: 'POST',
      headers: shopper.headers,
      // No order (the create failed): start over with a new one.
      setupRequest: (request, context) =>
        typeof context.orderNo === 'string'
          ? { ...request, path: `/api/orders/${context.orderNo}/pay`, body: shopper.payBody() }
          : undefined,
      onResponse: (status, body, context) => {
        if (status === 200 && (shopper.paid?.(body) ?? true))
          recorder.add(performance.now() - (context.startedAt as number));
        else recorder.failures += 1;
      },
    },
  ];
}

export async function httpCheckouts(
  url: string,
  connections: number,
  seconds: number,
  shopper = DEFAULT_SHOPPER,
): Promise<{ requests: HttpFigures; checkouts: Figures }> {
  const recorder = new LatencyRecorder();
  const requests = await httpLoad({
    url,
    connections,
    duration: seconds,
    requests: checkoutRequests(recorder, shopper),
  });
  return { requests, checkouts: recorder.figures(requests.seconds) };
}

/** Fixed-rate windows measured; the median one is reported. */
export const FIXED_WINDOWS = 3;

/**
 * Parts of a checkout switched off one at a time, to show what each costs: the environment that switches it
 * off, and what that leaves out.
 */
const PARTS: { env: Record<string, string>; without: string }[] = [
  {
    env: { LOG_LEVEL: 'warn' },
    without:
      'the log lines (`LOG_LEVEL=warn`: none on this path; `log` writes one per request and per money-path step)',
  },
  {
    env: { RECOVERY_JOBS_ENABLED: 'false' },
    without:
      'the recovery slot job (`RECOVERY_JOBS_ENABLED=false`: no repeatable slot job and no sweep of due rows every `RECOVERY_SLOT_MS`; a checkout writes no Redis job either way; the reconciler alone would query)',
  },
];
/** Rounds per app in a part's comparison (odd: the median is a round's figure); the median is reported. */
const PART_ROUNDS = 7;

export interface Round {
  perSecond: number;
  cpuMs: number;
}

/** A part's comparison: every round of the app as configured, and of the app without the part. */
interface PartCost {
  without: string;
  rounds: [Round[], Round[]];
}

/** The median checkouts/s and CPU per checkout of an app's rounds. */
/** One round of one app: checkouts back to back for `seconds`, and the app's CPU per checkout. */
export async function checkoutRound(
  app: AppProcess,
  connections: number,
  seconds: number,
  shopper = DEFAULT_SHOPPER,
): Promise<Round> {
  await app.count();
  const { checkouts } = await httpCheckouts(app.url, connections, seconds, shopper);
  const { cpuMs } = await app.counters();
  return { perSecond: checkouts.perSecond, cpuMs: cpuMs / checkouts.count };
}

export const medianOf = (rounds: Round[]): Round => ({
  perSecond: percentile(
    rounds.map((r) => r.perSecond).sort((a, b) => a - b),
    50,
  ),
  cpuMs: percentile(
    rounds.map((r) => r.cpuMs).sort((a, b) => a - b),
    50,
  ),
});

/**
 * The app as configured and the app without one part, both running, taking turns round after round (which
 * goes first alternates): a machine that speeds up or slows down during the comparison moves both alike.
 */
async function partCost(part: (typeof PARTS)[number], connections: number, seconds: number): Promise<PartCost> {
  const apps = [await AppProcess.start(appEnvironment()), await AppProcess.start(appEnvironment(part.env))];
  try {
    for (const app of apps) await httpCheckouts(app.url, 8, seconds);
    const [asIs, without] = await takeTurns(2, PART_ROUNDS, (which) =>
      checkoutRound(apps[which], connections, seconds),
    );
    return { without: part.without, rounds: [asIs, without] };
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
  }
}

let accountTurn = 0;
/**
 * The `bench-accounts` shop: its application is bound to two stored WeChat accounts and its pays name them
 * in turn, so every checkout resolves the bindings and picks a stored account's adapter.
 */
const ACCOUNTS_SHOPPER: Shopper = {
  headers: { 'content-type': 'application/json', ...BENCH_ACCOUNTS_AUTH },
  payBody: () =>
    JSON.stringify({ channel: 'wechat', accountId: BENCH_ACCOUNTS[accountTurn++ % BENCH_ACCOUNTS.length] }),
};

interface AccountsCost {
  rounds: [Round[], Round[]];
  counted: [Awaited<ReturnType<typeof countCheckout>>, Awaited<ReturnType<typeof countCheckout>>];
}

/**
 * Checkouts on the environment's default account against checkouts on two stored accounts, in the same app,
 * taking turns round after round (which goes first alternates), as the parts' comparison does.
 */
async function accountsCost(app: AppProcess, connections: number, seconds: number, rounds: number) {
  await openBenchAccounts(app.url);
  const shoppers = [DEFAULT_SHOPPER, ACCOUNTS_SHOPPER];
  await httpCheckouts(app.url, 8, seconds, ACCOUNTS_SHOPPER);
  const counted = [await countCheckout(app, 40), await countCheckout(app, 40, ACCOUNTS_SHOPPER)];
  const [one, two] = await takeTurns(2, rounds, (which) => checkoutRound(app, connections, seconds, shoppers[which]));
  return { rounds: [one, two], counted } as AccountsCost;
}

/**
 * Checkouts on a fixed schedule, `rate` requests/s (one checkout every 2/rate s, each POST /api/orders then
 * its pay), whatever the earlier ones do. A request's latency counts from when it was due: the order's from
 * its slot in the schedule, the pay's from the order's answer. Not autocannon's `overallRate`: that sends each
 * connection's quota for the second at the top of the second (a burst of `rate` requests once a second, not a
 * steady rate) and back-fills its histogram as if a request were due every millisecond (`Math.ceil(1 / rate)`
 * with rate in requests per second), which counts a 60 ms answer as 60 answers of 60 ms down to 1 ms.
 * `pays` are the pay requests alone.
 */
export async function scheduledCheckouts(url: string, rate: number, seconds: number, shopper = DEFAULT_SHOPPER) {
  const requests = new LatencyRecorder();
  const pays = new LatencyRecorder();
  const checkouts = await fixedRate(rate / 2, seconds, async () => {
    const due = performance.now();
    const created = await postForAnswer(`${url}/api/orders`, ORDER(nextBuyer()), shopper.headers);
    const createdAt = performance.now();
    if (created.status !== 201) throw new Error(`POST /api/orders answered ${created.status}`);
    requests.add(createdAt - due);
    const { orderNo } = JSON.parse(created.body) as { orderNo: string };
    const paid = await postForAnswer(`${url}/api/orders/${orderNo}/pay`, shopper.payBody(), shopper.headers);
    if (paid.status !== 200 || !(shopper.paid?.(paid.body) ?? true)) {
      throw new Error(`POST /api/orders/${orderNo}/pay answered ${paid.status} ${paid.body.slice(0, 200)}`);
    }
    const payMs = performance.now() - createdAt;
    requests.add(payMs);
    pays.add(payMs);
  });
  return { requests: requests.figures(checkouts.seconds), pays: pays.figures(checkouts.seconds), checkouts };
}

export function noop(url: string, connections: number, seconds: number): Promise<HttpFigures> {
  return httpLoad({
    url: `${url}/bench/noop`,
    method: 'POST',
    headers: JSON_HEADERS,
    body: ORDER('noop'),
    connections,
    duration: seconds,
  });
}

/** No-op requests to one app for `seconds`, and the app's CPU per request. */
export async function countedNoop(
  app: AppProcess,
  connections: number,
  seconds: number,
): Promise<{ figures: HttpFigures; cpuMs: number }> {
  await app.count();
  const figures = await noop(app.url, connections, seconds);
  return { figures, cpuMs: (await app.counters()).cpuMs / figures.count };
}

interface SweepPoint {
  connections: number;
  noop: HttpFigures;
  /** CPU time of the app's process per no-op request. */
  noopCpuMs: number;
  app: { requests: HttpFigures; checkouts: Figures };
  /** CPU time of the app's process per completed checkout, and of this process per raw checkout. */
  appCpuMs: number;
  raw: Figures;
  rawCpuMs: number;
  /** The machine's CPU per checkout by process (ms), while the app ran checkouts and while the raw loop did. */
  appMachine: Map<string, number>;
  rawMachine: Map<string, number>;
  /** The part of the app's CPU per checkout its main thread used (the thread that runs JavaScript). */
  appMainThreadMs: number;
}

/** CPU per checkout by process, and the app's main thread's part, from a MachineCpu and a count. */
export function perCheckout(cpu: MachineCpu, checkouts: number) {
  const { ms, appMainThreadMs } = cpu.stop();
  return {
    byProcess: new Map([...ms].map(([group, used]) => [group, used / checkouts])),
    mainThreadMs: appMainThreadMs / checkouts,
  };
}

const sumOf = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** Exactly `checkouts` checkouts at 4 connections, counted in the app: what one checkout costs. */
export async function countCheckout(app: AppProcess, checkouts: number, shopper = DEFAULT_SHOPPER) {
  const recorder = new LatencyRecorder();
  await sleep(300); // requests of the previous run still in the app
  await app.count();
  await httpLoad({
    url: app.url,
    connections: 4,
    amount: 2 * checkouts,
    requests: checkoutRequests(recorder, shopper),
  });
  const c = await app.counters();
  const done = recorder.figures(1).count;
  return {
    statements: c.statements / done,
    transactions: c.transactions / done,
    rows: c.rowsWritten / done,
    redis: Object.values(c.redisCommands).reduce((a, b) => a + b, 0) / done,
  };
}

const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

/**
 * The whole machine's CPU per checkout at the peak, by process, for the API and the raw loop; and the most
 * CPU the app's process could use per checkout for the ratio target. Two limits: the cores (all processes
 * together cannot use more than the machine has, so the API path may take at most 1 / target times the raw
 * path's CPU) and the app's one JavaScript thread (at most one core, so at most 1 s over the target rate).
 */
function machineBudget(peak: SweepPoint): string[] {
  const TARGET = 0.5;
  const apiTotal = sumOf(peak.appMachine);
  const rawTotal = sumOf(peak.rawMachine);
  const app = peak.appMachine.get(APP)!;
  const byCores = rawTotal / TARGET - (apiTotal - app);
  // The main thread may use one core; the rest of the process's CPU (GC and compiler threads, libuv's pool)
  // is taken to stay in the same proportion to it.
  const threadShare = peak.appMainThreadMs / app;
  const byThread = 1000 / (TARGET * peak.raw.perSecond) / threadShare;
  const cores = cpus().length;
  // CPU per checkout times checkouts per second: cores busy on average.
  const coresAt = (msPerCheckout: number, perSecond: number) => ((msPerCheckout * perSecond) / 1000).toFixed(2);
  const floor = 2 * peak.noopCpuMs + peak.rawCpuMs;
  return [
    `The whole machine's CPU per checkout at the peak (${peak.connections} connections), by process, from /proc:`,
    '',
    table(
      ['', 'API checkout', 'raw SQL checkout'],
      [
        ...[...peak.appMachine.keys()].map((group) => [
          group,
          ms(peak.appMachine.get(group)!),
          ms(peak.rawMachine.get(group)!),
        ]),
        ['**all**', `**${ms(apiTotal)}**`, `**${ms(rawTotal)}**`],
        [
          'cores busy on average',
          `${coresAt(apiTotal, peak.app.checkouts.perSecond)} of ${cores}`,
          `${coresAt(rawTotal, peak.raw.perSecond)} of ${cores}`,
        ],
      ],
    ),
    '',
    `The app's main thread (the one that runs JavaScript; ${(threadShare * 100).toFixed(0)}% of the process's CPU) ` +
      `was busy ${coresAt(peak.appMainThreadMs, peak.app.checkouts.perSecond)} of the one core it can use. ` +
      `${TARGET}× the raw loop's ${num(peak.raw.perSecond)} checkouts/s needs the app's process at no more than ` +
      `${ms(Math.min(byCores, byThread))} of CPU per checkout instead of ${ms(app)}: ${ms(byThread)} for its ` +
      `main thread to keep up, and ${ms(byCores)} for the ${cores} cores to keep up with the services and the load ` +
      `generator as they are (${ms(rawTotal)} / ${TARGET} − ${ms(apiTotal - app)}). Its floor on this path: two ` +
      `no-op requests (${ms(peak.noopCpuMs)} each, measured in the same app) and the SQL work of the bare client ` +
      `(${ms(peak.rawCpuMs)}) make ${ms(floor)} before any of the checkout's own work.`,
  ];
}

/**
 * Checkout: create order + start payment through the HTTP API, against the same SQL from a bare mysql2
 * pool (same transactions, row locks and writes) and against an endpoint of the same app that does nothing.
 */
export async function checkoutBench(context: BenchContext): Promise<Section> {
  const seconds = context.seconds(5);
  const sweep = context.quick ? [16] : [1, 8, 32];
  const pool = rawPool(POOL);
  const app = await AppProcess.start(appEnvironment());
  const points: SweepPoint[] = [];
  let rawStatements = 0;
  let counted: Awaited<ReturnType<typeof countCheckout>>;
  const windows: (Awaited<ReturnType<typeof scheduledCheckouts>> & { foreignCpu: number })[] = [];
  let fixed: (typeof windows)[number];
  let profile: { group: string; share: number }[];
  const parts: PartCost[] = [];
  let accounts: AccountsCost;
  try {
    context.log('checkout: warming up');
    await httpCheckouts(app.url, 8, context.seconds(3));
    await closedLoop(8, context.seconds(2), () => rawCheckout(pool, nextBuyer()).then(() => undefined));
    counted = await countCheckout(app, 40);
    for (const connections of sweep) {
      context.log(`checkout: ${connections} connection(s)`);
      const { figures: noopFigures, cpuMs: noopCpuMs } = await countedNoop(app, connections, seconds);
      await sleep(300);
      await app.count();
      const appCpu = MachineCpu.start();
      const appFigures = await httpCheckouts(app.url, connections, seconds);
      const appMachine = perCheckout(appCpu, appFigures.checkouts.count);
      const { cpuMs } = await app.counters();
      const rawCpu = process.cpuUsage();
      const rawMachineCpu = MachineCpu.start();
      const raw = await closedLoop(connections, seconds, async () => {
        rawStatements = await rawCheckout(pool, nextBuyer());
      });
      const rawMachine = perCheckout(rawMachineCpu, raw.count);
      points.push({
        connections,
        noop: noopFigures,
        noopCpuMs,
        app: appFigures,
        appCpuMs: cpuMs / appFigures.checkouts.count,
        raw,
        rawCpuMs: cpuMsSince(rawCpu) / raw.count,
        appMachine: appMachine.byProcess,
        rawMachine: rawMachine.byProcess,
        appMainThreadMs: appMachine.mainThreadMs,
      });
    }
    context.log(`checkout: ${RATE} requests/s`);
    // Three windows: one stall of the machine (another process, a stolen vCPU) shows as one odd window,
    // not as the figure. The median window's p99 is the figure.
    for (let window = 0; window < FIXED_WINDOWS; window++) {
      const foreign = ForeignCpu.start();
      const figures = await scheduledCheckouts(app.url, RATE, context.seconds(10));
      windows.push({ ...figures, foreignCpu: foreign.stop() });
    }
    windows.sort((a, b) => a.requests.p99 - b.requests.p99);
    fixed = windows[Math.floor(windows.length / 2)];
    context.log('checkout: where the app spends its CPU (sampling profile)');
    await app.startProfile();
    await httpCheckouts(app.url, 16, context.seconds(5));
    profile = await app.stopProfile('checkout');
    const best = points.reduce((a, p) => (p.app.checkouts.perSecond > a.app.checkouts.perSecond ? p : a));
    context.log('checkout: the default account against two stored accounts');
    accounts = await accountsCost(app, best.connections, context.seconds(4), context.quick ? 3 : PART_ROUNDS);
  } finally {
    await app.stop();
  }

  const peak = points.reduce((best, p) => (p.app.checkouts.perSecond > best.app.checkouts.perSecond ? p : best));
  const [oneAccount, twoAccounts] = accounts.rounds.map(medianOf);
  if (!context.quick) {
    for (const part of PARTS) {
      context.log(`checkout: without ${part.without.split(' (')[0]}`);
      parts.push(await partCost(part, peak.connections, context.seconds(4)));
    }
  }
  await pool.end();

  const bestRaw = Math.max(...points.map((p) => p.raw.perSecond));
  const bestApp = peak.app.checkouts.perSecond;
  const fixedP99 = fixed.requests.p99;
  const markdown = [
    `A checkout is two requests, \`POST /api/orders\` then \`POST /api/orders/:orderNo/pay\` (WeChat), from autocannon ` +
      `connections that each run checkouts back to back for ${seconds} s. The vendor answers at once (an in-process ` +
      `instant gateway), so the figures are the Payment Center's own. **Raw SQL** is the same work from a bare ` +
      `mysql2 pool of ${POOL} connections (the app's DB_POOL_SIZE) in as many loops as connections: the same ` +
      `transactions, row locks, reads and writes (bench/support/raw-checkout.ts). **No-op** is \`POST /bench/noop\` ` +
      `in the same app: Express, logging, metrics, interceptors and nothing else (one request, so its ceiling in ` +
      `checkouts is half its requests/s).`,
    '',
    table(
      [
        'connections',
        'checkouts/s (API)',
        'checkouts/s (raw SQL)',
        'ratio',
        'checkout p50 / p99 (API)',
        'checkout p50 / p99 (raw)',
        'request p50 / p99 (API)',
        'no-op requests/s',
        'CPU per checkout: app / raw client',
        'errors',
      ],
      points.map((p) => [
        p.connections,
        num(p.app.checkouts.perSecond),
        num(p.raw.perSecond),
        ratio(p.app.checkouts.perSecond, p.raw.perSecond),
        `${ms(p.app.checkouts.p50)} / ${ms(p.app.checkouts.p99)}`,
        `${ms(p.raw.p50)} / ${ms(p.raw.p99)}`,
        `${ms(p.app.requests.p50)} / ${ms(p.app.requests.p99)}`,
        num(p.noop.perSecond),
        `${ms(p.appCpuMs)} / ${ms(p.rawCpuMs)}`,
        p.app.requests.errors + p.app.requests.non2xx + p.raw.errors,
      ]),
    ),
    '',
    `At a fixed ${RATE} requests/s (a checkout due every ${ms(2000 / RATE)} for ${fixed.checkouts.seconds.toFixed(0)} s, ` +
      `each request's latency counted from when it was due, see \`scheduledCheckouts\`): request p50 ` +
      `${ms(fixed.requests.p50)}, **p99 ${ms(fixedP99)}**; whole checkout p50 ${ms(fixed.checkouts.p50)}, p99 ` +
      `${ms(fixed.checkouts.p99)}; ${num(fixed.requests.perSecond)} requests/s served, ${fixed.checkouts.errors} ` +
      `failed checkouts. That is the median of ${windows.length} such windows; request p99 of each, with the CPU ` +
      `other processes took meanwhile (not this bench, its app or the services): ` +
      `${windows.map((w) => `${ms(w.requests.p99)} (${foreignCpuText(w.foreignCpu)})`).join(', ')}.`,
    '',
    `One checkout (40 counted in the app): **${num(counted.statements)} SQL statements** in ` +
      `${num(counted.transactions)} transactions (the raw loop: ${rawStatements} statements in 2 transactions and ` +
      `four autocommitted), ${num(counted.rows)} rows written, ${num(counted.redis)} commands to the guard's Redis ` +
      `(and none to Bull's queue: recovery finds the payment by its row).`,
    '',
    ...machineBudget(peak),
    '',
    `Where the app's CPU goes during checkouts at 16 connections (V8 sampling profile; a native call such as a ` +
      `socket write counts for the package that made it):`,
    '',
    table(
      ['', 'share of samples'],
      profile.filter((g) => g.share >= 0.005).map((g) => [g.group, `${(g.share * 100).toFixed(1)}%`]),
    ),
    '',
    `Channel accounts: the same app, checkouts of the \`bench\` application (the environment's default WeChat ` +
      `account) and of the \`bench-accounts\` application (bound to two stored WeChat accounts, sealed under a KEK, ` +
      `its pays naming them in turn), taking turns for ${accounts.rounds[0].length} rounds of ` +
      `${context.seconds(4)} s each at ${peak.connections} connections (medians). A stored account's adapter is ` +
      `built once and reused; it is checked against its row's version at most every ACCOUNT_CACHE_MS (one ` +
      `primary-key read per account and instance, not per checkout), and an application's bindings are cached as ` +
      `long, so a key rotation or a disabled account reaches every instance within that time (at once on the ` +
      `instance that made the change).`,
    '',
    table(
      [
        'accounts',
        'checkouts/s',
        'CPU per checkout',
        'statements / Redis commands per checkout',
        'checkouts/s of each round',
      ],
      (['one: the default account', 'two stored accounts, alternating'] as const).map((name, i) => [
        name,
        num([oneAccount, twoAccounts][i].perSecond),
        ms([oneAccount, twoAccounts][i].cpuMs),
        `${num(accounts.counted[i].statements)} / ${num(accounts.counted[i].redis)}`,
        accounts.rounds[i].map((r) => num(r.perSecond)).join(', '),
      ]),
    ),
    ...(parts.length > 0
      ? [
          '',
          `What a part of the checkout costs: the app as configured and the app without that part, both running, ` +
            `taking turns for ${PART_ROUNDS} rounds of ${context.seconds(4)} s each at ${peak.connections} connections ` +
            `(medians):`,
          '',
          table(
            [
              'without',
              'checkouts/s: as configured / without',
              'CPU per checkout: as configured / without',
              'checkouts/s of each round: as configured; without',
            ],
            parts.map(({ without, rounds }) => {
              const [asIs, off] = rounds.map(medianOf);
              const change = (off.perSecond / asIs.perSecond - 1) * 100;
              return [
                without,
                `${num(asIs.perSecond)} / ${num(off.perSecond)} (${change >= 0 ? '+' : ''}${change.toFixed(0)}%)`,
                `${ms(asIs.cpuMs)} / ${ms(off.cpuMs)}`,
                rounds.map((r) => r.map((x) => num(x.perSecond)).join(', ')).join('; '),
              ];
            }),
          ),
        ]
      : []),
  ].join('\n');
  return {
    title: 'Checkout',
    markdown,
    summary: [
      {
        item: 'Checkout throughput (create + pay)',
        ours: `${num(bestApp)} checkouts/s`,
        ceiling: `${num(bestRaw)} checkouts/s (raw SQL)`,
        ratio: ratio(bestApp, bestRaw),
        target: '≥ 0.50×',
        met: bestApp / bestRaw >= 0.5,
      },
      {
        item: 'Checkout on two stored accounts (against the default account, same app, taking turns)',
        ours: `${num(twoAccounts.perSecond)} checkouts/s`,
        ceiling: `${num(oneAccount.perSecond)} checkouts/s`,
        ratio: ratio(twoAccounts.perSecond, oneAccount.perSecond),
        target: '≥ 0.95× (no worse beyond noise)',
        met: twoAccounts.perSecond / oneAccount.perSecond >= 0.95,
      },
      {
        item: `Checkout request p99 at ${RATE} requests/s`,
        ours: ms(fixedP99),
        ceiling: '',
        ratio: '',
        target: '< 50 ms',
        met: fixedP99 < 50,
      },
    ],
  };
}
