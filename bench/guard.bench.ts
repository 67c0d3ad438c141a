import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { BENCH_AUTH } from './support/api-key';
import { AppProcess } from './support/app-process';
import { BENCH_REDIS_URL, appEnvironment } from './support/environment';
import { type Figures, httpLoad, type HttpFigures, percentile, post, sleep } from './support/load';
import { type BenchContext, deltaMs, ms, num, type Section, table } from './support/report';

const JSON_HEADERS = { 'content-type': 'application/json', ...BENCH_AUTH };
let buyers = 0;
const order = () =>
  JSON.stringify({
    buyerId: `guard-${process.pid}-${(buyers++).toString(36)}`,
    items: [{ sku: 'TEA-001', name: 'Longjing tea 250g', quantity: 2, unitPriceFen: 1250 }],
  });

type Variant = 'off' | 'derived' | 'explicit';
const VARIANTS: Record<Variant, { label: string; path: string; key: boolean }> = {
  off: { label: 'guard off (`POST /bench/orders`)', path: '/bench/orders', key: false },
  derived: { label: 'guard, no key (`POST /api/orders`)', path: '/api/orders', key: false },
  explicit: { label: 'guard, `Idempotency-Key` (`POST /api/orders`)', path: '/api/orders', key: true },
};

/** Every request a new order (a new body, and a new key when the variant sends one). */
function create(url: string, variant: Variant, connections: number, seconds: number): Promise<HttpFigures> {
  const { path, key } = VARIANTS[variant];
  return httpLoad({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path,
        setupRequest: (request) => ({
          ...request,
          headers: key ? { ...JSON_HEADERS, 'idempotency-key': randomUUID() } : JSON_HEADERS,
          body: order(),
        }),
      },
    ],
  });
}

function send(url: string, variant: Variant): Promise<void> {
  const { path, key } = VARIANTS[variant];
  return post(`${url}${path}`, order(), key ? { ...BENCH_AUTH, 'idempotency-key': randomUUID() } : BENCH_AUTH).then(
    (status) => {
      if (status !== 201) throw new Error(`${variant}: HTTP ${status}`);
    },
  );
}

/**
 * One request at a time, timed to the microsecond: what one request pays. The variants take turns request
 * by request (a busy neighbour on the machine slows them alike, which blocks of seconds each did not); a
 * cell's `before` sets up each of its requests (the slow link's delay) before it is timed.
 */
async function latencies<T extends string>(
  url: string,
  cells: readonly { name: T; variant: Variant; before?: () => Promise<void> | void }[],
  seconds: number,
): Promise<Record<T, Figures>> {
  const times = new Map<T, number[]>(cells.map((cell) => [cell.name, []]));
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    for (const cell of cells) {
      await cell.before?.();
      const begin = performance.now();
      await send(url, cell.variant);
      times.get(cell.name)?.push(performance.now() - begin);
    }
  }
  const result = {} as Record<T, Figures>;
  for (const [name, values] of times) {
    values.sort((a, b) => a - b);
    result[name] = {
      count: values.length,
      errors: 0,
      seconds,
      perSecond: values.length / seconds,
      p50: percentile(values, 50),
      p99: percentile(values, 99),
    };
  }
  return result;
}

/**
 * A Redis round trip from this machine (PING, p50), the unit the guard's cost is counted in: back to back,
 * and `gapMs` apart as requests meet it (Redis idle in between: on a small VM, waking it costs more than
 * the command).
 */
async function redisRoundTrip(seconds: number, url = BENCH_REDIS_URL, gapMs = 0): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    const times: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    while (performance.now() < deadline) {
      if (gapMs > 0) await sleep(gapMs);
      const begin = performance.now();
      await redis.ping();
      times.push(performance.now() - begin);
    }
    return percentile(
      times.sort((a, b) => a - b),
      50,
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * A TCP proxy in front of the bench Redis that holds what the app sends for `delayMs` (answers come back
 * at once). A request that waits for n Redis answers takes n × the link's delay longer; a command sent and
 * not waited for costs nothing. That is how the round trips a request waits on are counted.
 */
class SlowLink {
  delayMs = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(target: URL) {
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      for (const socket of [client, upstream]) socket.on('error', drop).on('close', drop);
      // In order, whatever the delay was when each chunk came: overtaking would cross Redis's answers.
      const queue: { due: number; chunk: Buffer }[] = [];
      let timer: NodeJS.Timeout | undefined;
      const pump = () => {
        timer = undefined;
        while (queue.length > 0 && queue[0].due <= performance.now()) {
          const { chunk } = queue.shift() as { chunk: Buffer };
          if (!upstream.destroyed) upstream.write(chunk);
        }
        if (queue.length > 0) timer = setTimeout(pump, queue[0].due - performance.now());
      };
      client.on('data', (chunk: Buffer) => {
        const last = queue.length > 0 ? queue[queue.length - 1].due : 0;
        queue.push({ due: Math.max(last, performance.now() + this.delayMs), chunk });
        if (timer === undefined) pump();
      });
      upstream.pipe(client);
    });
  }

  static async open(): Promise<{ link: SlowLink; url: string }> {
    const target = new URL(BENCH_REDIS_URL);
    const link = new SlowLink(target);
    await new Promise<void>((resolve) => link.server.listen(0, '127.0.0.1', resolve));
    const url = new URL(target.href);
    url.hostname = '127.0.0.1';
    url.port = String((link.server.address() as { port: number }).port);
    return { link, url: url.href };
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const LINK_DELAY_MS = 10;

/**
 * Redis round trips one request waits on, per variant: the app again, its Redis behind a SlowLink, each
 * variant timed with the link at 0 and at LINK_DELAY_MS, alternately. The difference in p50 divided by
 * what the delay adds to one PING through the link.
 */
async function waitedRoundTrips(
  context: BenchContext,
): Promise<{ perVariant: Record<Variant, number>; addedPerTrip: number }> {
  const { link, url } = await SlowLink.open();
  const app = await AppProcess.start(appEnvironment({ REDIS_URL: url }));
  try {
    for (const variant of Object.keys(VARIANTS) as Variant[]) await create(app.url, variant, 4, context.seconds(1));
    // A command sent and not waited for is still on the slow link after the answer: let it drain, or the
    // next request's commands queue behind it.
    const fast = async () => {
      await sleep(2 * LINK_DELAY_MS);
      link.delayMs = 0;
    };
    const slow = async () => {
      await sleep(2 * LINK_DELAY_MS);
      link.delayMs = LINK_DELAY_MS;
    };
    const cells = (Object.keys(VARIANTS) as Variant[]).flatMap((variant) => [
      { name: `${variant}:fast`, variant, before: fast },
      { name: `${variant}:slow`, variant, before: slow },
    ]);
    const timed = await latencies(app.url, cells, context.seconds(8));
    await fast();
    const pingFast = await redisRoundTrip(context.seconds(1), url);
    await slow();
    const pingSlow = await redisRoundTrip(context.seconds(1), url);
    const addedPerTrip = pingSlow - pingFast;
    const perVariant = {} as Record<Variant, number>;
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      perVariant[variant] = (timed[`${variant}:slow`].p50 - timed[`${variant}:fast`].p50) / addedPerTrip;
    }
    return { perVariant, addedPerTrip };
  } finally {
    link.delayMs = 0;
    await app.stop();
    await link.close();
  }
}

interface Measured {
  latency: Figures;
  throughput: HttpFigures;
  redisPerRequest: number;
  statementsPerRequest: number;
  cpuMsPerRequest: number;
  redisCommands: string;
}

/**
 * The duplicate-submission guard: order creation with the guard off (the same OrdersService.create from a
 * probe endpoint that opts out), with the guard and no key (a key derived from the body), and with an
 * Idempotency-Key. Latency at one connection (what one request pays), the variants taking turns request
 * by request; throughput at 16, the variants alternating twice, the better run counting; the Redis
 * commands the guard sent and the SQL statements per request; and, through a slowed link to Redis, the
 * Redis round trips a request waits on.
 */
export async function guardBench(context: BenchContext): Promise<Section> {
  const seconds = context.seconds(4);
  const rounds = context.quick ? 1 : 2;
  const variants = Object.keys(VARIANTS) as Variant[];
  const app = await AppProcess.start(appEnvironment());
  const results = {} as Record<Variant, Measured>;
  let roundTrip: number;
  let spacedRoundTrip: number;
  try {
    context.log('guard: warming up');
    for (const variant of variants) await create(app.url, variant, 4, context.seconds(2));
    context.log('guard: latency, the variants taking turns');
    const latency = await latencies(
      app.url,
      variants.map((variant) => ({ name: variant, variant })),
      rounds * variants.length * seconds,
    );
    for (let round = 0; round < rounds; round++) {
      for (const variant of variants) {
        context.log(`guard: ${variant} (round ${round + 1})`);
        await sleep(500); // requests of the previous run still in the app
        const throughput = await create(app.url, variant, 16, seconds);
        const previous = results[variant];
        if (previous) {
          previous.throughput = better(previous.throughput, throughput);
          continue;
        }
        await sleep(500);
        await app.count();
        const requests = 200;
        for (let i = 0; i < requests; i++) await send(app.url, variant);
        const counted = await app.counters();
        const commands = Object.values(counted.redisCommands).reduce((a, b) => a + b, 0);
        results[variant] = {
          latency: latency[variant],
          throughput,
          redisPerRequest: commands / requests,
          statementsPerRequest: counted.statements / requests,
          cpuMsPerRequest: counted.cpuMs / requests,
          redisCommands: Object.entries(counted.redisCommands)
            .map(([name, n]) => `${name} ×${num(n / requests)}`)
            .join(', '),
        };
      }
    }
    roundTrip = await redisRoundTrip(context.seconds(2));
    spacedRoundTrip = await redisRoundTrip(context.seconds(2), BENCH_REDIS_URL, 5);
  } finally {
    await app.stop();
  }
  context.log('guard: Redis round trips waited on, through a slowed link');
  const waited = await waitedRoundTrips(context);

  const off = results.off;
  const added = (variant: Variant) => results[variant].latency.p50 - off.latency.p50;
  const addedShare = (variant: Variant) => added(variant) / off.latency.p50;
  const worst = Math.max(addedShare('derived'), addedShare('explicit'));
  const redisTrips = Math.max(waited.perVariant.derived, waited.perVariant.explicit);
  const markdown = [
    `\`POST /api/orders\` with the duplicate-submission guard, without and with an \`Idempotency-Key\`, against the ` +
      `same \`OrdersService.create\` behind a probe endpoint that opts out of the guard (no Redis, no key in the order row). ` +
      `Latency one request at a time, the variants taking turns request by request for ` +
      `${rounds * variants.length * seconds} s; throughput at 16 connections, the variants alternating ` +
      `${rounds === 1 ? 'once' : `${rounds} times`}, the better run counting. Commands and statements counted ` +
      `over 200 requests per variant. A Redis round trip (PING, p50) from this machine: ${ms(roundTrip)} back to back, ` +
      `${ms(spacedRoundTrip)} 5 ms apart (Redis idle in between, as requests one at a time meet it).`,
    '',
    table(
      [
        '',
        'p50 / p99 (one at a time)',
        'added p50',
        'requests/s (16 connections)',
        'Redis commands sent per request',
        'Redis round trips waited on',
        'SQL statements per request',
        'app CPU per request',
      ],
      (Object.keys(VARIANTS) as Variant[]).map((variant) => {
        const r = results[variant];
        return [
          VARIANTS[variant].label,
          `${ms(r.latency.p50)} / ${ms(r.latency.p99)}`,
          variant === 'off' ? '' : `${deltaMs(added(variant))} (${(addedShare(variant) * 100).toFixed(0)}%)`,
          num(r.throughput.perSecond),
          r.redisCommands ? `${num(r.redisPerRequest)} (${r.redisCommands})` : '0',
          num(waited.perVariant[variant]),
          num(r.statementsPerRequest),
          ms(r.cpuMsPerRequest),
        ];
      }),
    ),
    '',
    'Per guarded request the guard waits on one Redis round trip: `SET key marker NX PX GET` claims the key ' +
      '(and returns a finished request to replay). On this endpoint the claim is sent as the handler starts ' +
      '(`@ClaimAlongside`) and the order transaction waits for it after its `START TRANSACTION`, before its ' +
      'first write, so the two round trips overlap. After it, a compare-and-set `EVAL` ' +
      'stores the response; it is sent once the answer is handed to the socket, not waited for, so a retry sent ' +
      'on receipt of the answer finds it stored (a duplicate that finds the key in flight looks once more ' +
      'before its 409). The backstop when Redis is down or flushed costs no statement: the key is a column of ' +
      "the order with a unique index, written by the order's own `INSERT` (NULL when the guard is off). " +
      `Round trips waited on: the app again with its Redis behind a proxy that holds each command ` +
      `${LINK_DELAY_MS} ms, the variants timed with and without the delay, request by request; the difference ` +
      `in p50 divided by what the delay adds to one PING through it (${ms(waited.addedPerTrip)}).`,
  ].join('\n');

  return {
    title: 'Duplicate-submission guard',
    markdown,
    summary: [
      {
        item: 'Guard: latency added to POST /api/orders (p50)',
        ours: `${deltaMs(added('derived'))} no key, ${deltaMs(added('explicit'))} with key`,
        ceiling: `${ms(off.latency.p50)} without the guard`,
        ratio: `${worst < 0 ? '−' : '+'}${Math.abs(worst * 100).toFixed(0)}%`,
        target: '≤ 10%',
        met: worst <= 0.1,
      },
      {
        item: 'Guard: Redis round trips waited on per request',
        ours: `${num(waited.perVariant.derived)} no key, ${num(waited.perVariant.explicit)} with key`,
        ceiling: `${num(Math.max(results.derived.redisPerRequest, results.explicit.redisPerRequest))} commands sent`,
        ratio: '',
        target: '≤ 1',
        // A count estimated from timings: 1.1 is one round trip and a little jitter, 1.5 would not be.
        met: redisTrips < 1.5,
      },
    ],
  };
}

function better(a: HttpFigures | undefined, b: HttpFigures): HttpFigures {
  return a && a.perSecond >= b.perSecond ? a : b;
}
