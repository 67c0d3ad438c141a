import { performance } from 'node:perf_hooks';
import type autocannon from 'autocannon';
import type { AppConfig } from '../src/config/app-config';
import { createGateways } from '../src/gateways/gateway-factory';
import { AppProcess, type AppCounters } from './support/app-process';
import { rawLockedUpdate, seedPayingPayments, type SignedCallback, signedCallbacks } from './support/callbacks';
import { handlerWrites, rawPool, rowsWrittenBetween } from './support/database';
import { appEnvironment, BENCH_KEYS_DIR } from './support/environment';
import { closedLoop, type Figures, httpLoad, type HttpFigures } from './support/load';
import { type BenchContext, ms, num, ratio, type Section, table } from './support/report';

const CONNECTIONS = 16;
export const NOTIFY_PATH = '/api/payments/notify/wechat';

/** autocannon requests that send each callback of the list once, in order, across all connections. */
export function callbackRequests(callbacks: readonly SignedCallback[]): autocannon.Request[] {
  let next = 0;
  return [
    {
      method: 'POST',
      path: NOTIFY_PATH,
      setupRequest: (request) => {
        const callback = callbacks[next++ % callbacks.length];
        return { ...request, headers: callback.headers, body: callback.body };
      },
    },
  ];
}

interface Phase {
  figures: HttpFigures;
  counters: AppCounters;
  handlerRows: number;
}

async function sendAll(app: AppProcess, callbacks: readonly SignedCallback[], pool: ReturnType<typeof rawPool>) {
  await app.count();
  const before = await handlerWrites(pool);
  const figures = await httpLoad({
    url: app.url,
    connections: CONNECTIONS,
    amount: callbacks.length,
    requests: callbackRequests(callbacks),
  });
  const counters = await app.counters();
  return { figures, counters, handlerRows: rowsWrittenBetween(before, await handlerWrites(pool)) } satisfies Phase;
}

/** How many callbacks one core verifies and decrypts per second with the real adapter, nothing else. */
async function verificationCeiling(callbacks: readonly SignedCallback[]): Promise<number> {
  const wechat = createGateways({
    gatewayMode: 'sandbox',
    sandbox: { url: 'http://127.0.0.1:9', keysDir: BENCH_KEYS_DIR },
    gateways: { timeoutMs: 1000 },
    publicBaseUrl: 'http://127.0.0.1:9',
  } as AppConfig).find((gateway) => gateway.channel === 'wechat')!;
  const started = performance.now();
  for (const callback of callbacks) {
    await wechat.parseNotification({ headers: callback.headers, rawBody: Buffer.from(callback.body) });
  }
  return callbacks.length / ((performance.now() - started) / 1000);
}

/**
 * Notification intake: signed WeChat Pay callbacks (verified and decrypted by the real adapter) applied
 * through the locked state change with their outbox event, against the bare locked update from mysql2;
 * then every callback again, to show that duplicates write nothing.
 */
export async function notificationsBench(context: BenchContext): Promise<Section> {
  const count = context.quick ? 400 : 2000;
  const pool = rawPool(CONNECTIONS + 4);
  context.log(`notifications: seeding ${count} payments and signing their callbacks`);
  const warmup = signedCallbacks(await seedPayingPayments(pool, 200));
  const profiled = signedCallbacks(await seedPayingPayments(pool, context.quick ? 100 : 400));
  const callbacks = signedCallbacks(await seedPayingPayments(pool, count));
  // The relay runs in its own benchmark: here the outbox rows are written, not published.
  const app = await AppProcess.start(appEnvironment({ RELAY_ENABLED: 'false' }));
  let first: Phase;
  let duplicates: Phase;
  let profile: { group: string; share: number }[];
  try {
    await httpLoad({ url: app.url, connections: 8, amount: warmup.length, requests: callbackRequests(warmup) });
    context.log('notifications: first deliveries');
    first = await sendAll(app, callbacks, pool);
    context.log('notifications: the same callbacks again (duplicates)');
    duplicates = await sendAll(app, callbacks, pool);
    await app.startProfile();
    await httpLoad({
      url: app.url,
      connections: CONNECTIONS,
      amount: profiled.length,
      requests: callbackRequests(profiled),
    });
    profile = await app.stopProfile('notifications');
  } finally {
    await app.stop();
  }

  context.log('notifications: raw locked update');
  const seconds = context.seconds(6);
  // More than the raw loop can update in its time (it ran out at 15,000 once mysql2 stopped capturing stacks).
  const rawPayments = await seedPayingPayments(pool, context.quick ? 8000 : 40_000);
  let next = 0;
  const rawCpu = process.cpuUsage();
  const raw: Figures = await closedLoop(CONNECTIONS, seconds, async () => {
    const payment = rawPayments[next++];
    if (!payment) throw new Error('seed more payments for the raw loop');
    const connection = await pool.getConnection();
    try {
      await rawLockedUpdate(connection, payment);
    } finally {
      connection.release();
    }
  });
  const rawUsage = process.cpuUsage(rawCpu);
  const rawCpuMs = (rawUsage.user + rawUsage.system) / 1000 / raw.count;
  await pool.end();
  const verifications = await verificationCeiling(callbacks.slice(0, 500));

  const perCallback = (phase: Phase, value: number) => num(value / phase.figures.count);
  const ok = first.figures.perSecond;
  const markdown = [
    `${num(count)} WeChat Pay \`TRANSACTION.SUCCESS\` callbacks for as many \`PAYING\` payments, signed with the ` +
      `platform key and encrypted with the APIv3 key as the vendor does, posted by ${CONNECTIONS} autocannon connections ` +
      `to \`POST ${NOTIFY_PATH}\`. Each is verified (RSA-SHA256 signature, timestamp, AES-256-GCM decryption, ` +
      `merchant ids) and applied through \`PaymentStateService.apply\` (intent and payment row locks, state, history ` +
      `row, outbox event and delivery row, one transaction); the relay is off here (see the outbox relay). Then ` +
      `every callback is sent again. **Raw** is the bare locked update from mysql2 (\`SELECT … FOR UPDATE\`, ` +
      `\`UPDATE\`, commit) in ${CONNECTIONS} loops.`,
    '',
    table(
      [
        '',
        'callbacks/s',
        'p50 / p99',
        'SQL statements each',
        'rows written each (app)',
        'server rows written (Handler_*)',
        'CPU each (app / raw client)',
        'non-2xx',
      ],
      [
        [
          'first delivery',
          num(first.figures.perSecond),
          `${ms(first.figures.p50)} / ${ms(first.figures.p99)}`,
          perCallback(first, first.counters.statements),
          perCallback(first, first.counters.rowsWritten),
          num(first.handlerRows),
          ms(first.counters.cpuMs / first.figures.count),
          first.figures.non2xx + first.figures.errors,
        ],
        [
          'duplicate',
          num(duplicates.figures.perSecond),
          `${ms(duplicates.figures.p50)} / ${ms(duplicates.figures.p99)}`,
          perCallback(duplicates, duplicates.counters.statements),
          perCallback(duplicates, duplicates.counters.rowsWritten),
          num(duplicates.handlerRows),
          ms(duplicates.counters.cpuMs / duplicates.figures.count),
          duplicates.figures.non2xx + duplicates.figures.errors,
        ],
        [
          'raw locked update',
          num(raw.perSecond),
          `${ms(raw.p50)} / ${ms(raw.p99)}`,
          '4',
          '1',
          '',
          ms(rawCpuMs),
          raw.errors,
        ],
      ],
    ),
    '',
    `Ratio first deliveries / raw: **${ratio(ok, raw.perSecond)}**. Duplicates wrote ` +
      `${duplicates.counters.writeStatements} statements / ${duplicates.counters.rowsWritten} rows in the app ` +
      `(the server's Handler_write/update/delete counted ${num(duplicates.handlerRows)} rows server-wide during that phase, other clients included). ` +
      `Signature verification and decryption alone: ${num(verifications)} callbacks/s on one core.`,
    '',
    `Where the app's CPU goes while it applies first deliveries (V8 sampling profile, ${profiled.length} more callbacks):`,
    '',
    table(
      ['', 'share of samples'],
      profile.filter((g) => g.share >= 0.005).map((g) => [g.group, `${(g.share * 100).toFixed(1)}%`]),
    ),
  ].join('\n');

  return {
    title: 'Notification intake',
    markdown,
    summary: [
      {
        item: 'Signed callbacks applied',
        ours: `${num(ok)} /s`,
        ceiling: `${num(raw.perSecond)} /s (raw locked update)`,
        ratio: ratio(ok, raw.perSecond),
        target: '',
        met: undefined,
      },
      {
        item: 'Duplicate callbacks: rows written',
        ours: `${duplicates.counters.rowsWritten} rows / ${num(duplicates.figures.count)} duplicates`,
        ceiling: '',
        ratio: '',
        target: '0',
        met: duplicates.counters.rowsWritten === 0 && duplicates.figures.non2xx === 0,
      },
    ],
  };
}
