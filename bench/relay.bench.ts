import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect } from 'amqplib';
import type { Pool, ResultSetHeader } from 'mysql2/promise';
import { PAYMENT_EVENTS_EXCHANGE, SIGNATURE_HEADER, signatureHeader } from '../src/notifications/payment-event';
import { AppProcess, type AppCounters } from './support/app-process';
import { seedPayingPayments, signedCallbacks } from './support/callbacks';
import { rawPool, rows } from './support/database';
import { appEnvironment, BENCH_PARTNER, BENCH_RABBITMQ_URL } from './support/environment';
import { callbackRequests, NOTIFY_PATH } from './notifications.bench';
import { fixedRate, httpLoad, percentile, post, sleep } from './support/load';
import { type BenchContext, ms, num, ratio, type Section, table } from './support/report';
import { ForeignCpu, foreignCpuText } from './support/machine';
import { purgeBenchQueue } from './support/services';

/** RELAY_BATCH_SIZE's default: the raw publisher waits for confirms in batches of the same size. */
const BATCH = Number(process.env.RELAY_BATCH_SIZE ?? 50);
const STEADY_RATE = 50;
/** Throughput rounds (relay, then raw, each on a fresh backlog); the medians are the figures. */
const ROUNDS = 3;

/** A `payment.succeeded` body of the size partners receive. */
function eventBody(eventId: string, paymentNo: string, at: Date): string {
  return JSON.stringify({
    id: eventId,
    type: 'payment.succeeded',
    occurredAt: at.toISOString(),
    version: 2,
    payment: {
      paymentNo,
      orderNo: `ord_${paymentNo.slice(-20)}`,
      channel: 'wechat',
      amountFen: 2500,
      currency: 'CNY',
      status: 'PAID',
      gatewayTradeNo: `4200${paymentNo.slice(-16)}`,
      paidAmountFen: 2500,
      paidAt: at.toISOString(),
      closedAt: null,
    },
  });
}

/** Writes `count` due outbox events with their delivery rows, as committed payment changes leave them. */
export async function seedOutbox(pool: Pool, count: number): Promise<{ ids: [number, number]; bodies: string[] }> {
  const now = new Date();
  const due = new Date(now.getTime() - 1000);
  const bodies: string[] = [];
  let first = 0;
  let last = 0;
  for (let start = 0; start < count; start += 1000) {
    const events = Array.from({ length: Math.min(1000, count - start) }, (_, i) => {
      const eventId = randomUUID();
      const paymentNo = `PBENCH${String(start + i).padStart(23, '0')}`;
      const body = eventBody(eventId, paymentNo, now);
      bodies.push(body);
      return { eventId, paymentNo, body };
    });
    const [inserted] = await pool.query<ResultSetHeader>(
      `INSERT INTO outbox_events (event_id, type, payment_no, version, body, occurred_at, next_attempt_at, claimed_by,
         attempts, last_error, published_at, created_at) VALUES ?`,
      [events.map((e) => [e.eventId, 'payment.succeeded', e.paymentNo, 2, e.body, now, due, null, 0, null, null, now])],
    );
    if (start === 0) first = inserted.insertId;
    last = inserted.insertId + events.length - 1;
    await pool.query(
      `INSERT INTO event_deliveries (event_id, partner, event_type, status, attempts, created_at, updated_at) VALUES ?`,
      [events.map((e) => [e.eventId, BENCH_PARTNER.name, 'payment.succeeded', 'PENDING', 0, now, now])],
    );
  }
  return { ids: [first, last], bodies };
}

async function unpublished(pool: Pool, [first, last]: [number, number]): Promise<number> {
  const [row] = await rows<{ n: number }>(
    pool,
    'SELECT COUNT(*) AS n FROM outbox_events WHERE id BETWEEN ? AND ? AND published_at IS NULL',
    [first, last],
  );
  return Number(row.n);
}

/**
 * Events per second the app's relay publishes with confirms from a seeded backlog (`ids`, from seedOutbox):
 * one kick, then until the last is marked published. The app's poll timer should be far away
 * (RELAY_POLL_INTERVAL_MS), so that only the kick starts it.
 */
export async function relayBacklog(app: AppProcess, pool: Pool, ids: [number, number]): Promise<number> {
  const started = Date.now();
  await app.request({ command: 'kick-relay' });
  while ((await unpublished(pool, ids)) > 0) await sleep(25);
  const [end] = await rows<{ at: Date }>(
    pool,
    'SELECT MAX(published_at) AS at FROM outbox_events WHERE id BETWEEN ? AND ?',
    ids,
  );
  return (ids[1] - ids[0] + 1) / ((end.at.getTime() - started) / 1000);
}

/** The ceiling: a bare amqplib confirm channel publishing the same messages, waiting for confirms per batch. */
async function rawPublish(bodies: readonly string[]): Promise<number> {
  const connection = await connect(BENCH_RABBITMQ_URL);
  try {
    const channel = await connection.createConfirmChannel();
    const started = performance.now();
    for (let start = 0; start < bodies.length; start += BATCH) {
      for (const text of bodies.slice(start, start + BATCH)) {
        const body = Buffer.from(text);
        const timestamp = Math.floor(Date.now() / 1000);
        channel.publish(PAYMENT_EVENTS_EXCHANGE, 'payment.succeeded', body, {
          messageId: randomUUID(),
          type: 'payment.succeeded',
          contentType: 'application/json',
          persistent: true,
          mandatory: true,
          timestamp,
          headers: { [SIGNATURE_HEADER]: signatureHeader(timestamp, body, [BENCH_PARTNER]) },
        });
      }
      await channel.waitForConfirms();
    }
    return bodies.length / ((performance.now() - started) / 1000);
  } finally {
    await connection.close();
  }
}

/**
 * Outbox relay: events published with publisher confirms by the app's relay (claim with SKIP LOCKED,
 * publish, mark) against a bare amqplib confirm channel; then the lag from commit to confirmed publish
 * while signed callbacks arrive at a steady rate, each committing one event and kicking the relay.
 */
export async function relayBench(context: BenchContext): Promise<Section> {
  const count = context.quick ? 1000 : 6000;
  const pool = rawPool(4);
  const rounds: { relay: number; raw: number; foreignCpu: number }[] = [];
  let counters!: AppCounters;
  const lags: number[] = [];
  let steady: { sent: number; seconds: number };

  // Throughput: the poll timer is far away, so only the kick starts the relay on the seeded backlog. The
  // relay and the raw publisher take turns, ROUNDS times: each figure is the median of its rounds, and a
  // round that other work on the machine slowed shows as such (the CPU it took is reported per round).
  const app = await AppProcess.start(appEnvironment({ RELAY_POLL_INTERVAL_MS: '60000' }));
  try {
    const warm = await seedOutbox(pool, 200);
    await app.request({ command: 'kick-relay' });
    while ((await unpublished(pool, warm.ids)) > 0) await sleep(50);
    await purgeBenchQueue();
    for (let round = 0; round < ROUNDS; round++) {
      context.log(`relay: ${count} events (round ${round + 1} of ${ROUNDS})`);
      const seeded = await seedOutbox(pool, count);
      await app.count();
      const foreign = ForeignCpu.start();
      const relay = await relayBacklog(app, pool, seeded.ids);
      const relayForeign = foreign.stop();
      counters = await app.counters();
      await purgeBenchQueue();
      const rawForeign = ForeignCpu.start();
      const raw = await rawPublish(seeded.bodies);
      rounds.push({ relay, raw, foreignCpu: Math.max(relayForeign, rawForeign.stop()) });
      await purgeBenchQueue();
    }
  } finally {
    await app.stop();
  }
  const relayRate = percentile(
    rounds.map((r) => r.relay).sort((a, b) => a - b),
    50,
  );
  const rawRate = percentile(
    rounds.map((r) => r.raw).sort((a, b) => a - b),
    50,
  );

  // Lag: production settings (poll every RELAY_POLL_INTERVAL_MS), events made by real callbacks.
  const seconds = context.seconds(12);
  const payments = await seedPayingPayments(pool, Math.ceil(STEADY_RATE * seconds * 1.2) + 50);
  const callbacks = signedCallbacks(payments);
  const lagApp = await AppProcess.start(appEnvironment());
  try {
    context.log(`relay: lag at ${STEADY_RATE} callbacks/s`);
    await httpLoad({ url: lagApp.url, connections: 4, amount: 50, requests: callbackRequests(callbacks.slice(0, 50)) });
    // A callback due every 1/STEADY_RATE s (not autocannon's overallRate, which sends a second's quota
    // at the top of the second: see scheduledCheckouts in checkout.bench.ts).
    let next = 50;
    const load = await fixedRate(STEADY_RATE, seconds, async () => {
      const callback = callbacks[next++];
      const status = await post(`${lagApp.url}${NOTIFY_PATH}`, callback.body, callback.headers);
      if (status >= 300) throw new Error(`callback answered ${status}`);
    });
    steady = { sent: load.count, seconds: load.seconds };
    const paymentNos = payments.slice(50, next).map((p) => p.paymentNo);
    const deadline = Date.now() + 30_000;
    let measured: { lag_ms: number | null }[] = [];
    while (Date.now() < deadline) {
      measured = await rows<{ lag_ms: number | null }>(
        pool,
        `SELECT TIMESTAMPDIFF(MICROSECOND, created_at, published_at) / 1000 AS lag_ms
           FROM outbox_events WHERE payment_no IN (?)`,
        [paymentNos],
      );
      if (measured.every((row) => row.lag_ms !== null)) break;
      await sleep(200);
    }
    lags.push(...measured.map((row) => Number(row.lag_ms)).filter((lag) => Number.isFinite(lag)));
  } finally {
    await lagApp.stop();
  }
  await purgeBenchQueue();
  await pool.end();

  lags.sort((a, b) => a - b);
  const lagP50 = percentile(lags, 50);
  const lagP99 = percentile(lags, 99);
  const perEvent = (value: number) => num(value / count);
  const markdown = [
    `${num(count)} due \`payment.succeeded\` events (with their delivery rows) seeded into the outbox, then one ` +
      `\`kick()\`: the relay claims batches of ${BATCH} with \`FOR UPDATE SKIP LOCKED\`, publishes each (persistent, ` +
      `mandatory, HMAC-signed) on its confirm channel and marks it published after the broker's confirm. **Raw** ` +
      `publishes the same bodies with the same properties from a bare amqplib confirm channel, waiting for the ` +
      `confirms of each batch of ${BATCH}. Both go to the same exchange and quorum queue.`,
    '',
    table(
      ['', 'events/s', 'SQL statements per event', 'transactions per event'],
      [
        ['relay', num(relayRate), perEvent(counters.statements), perEvent(counters.transactions)],
        ['raw confirm channel', num(rawRate), '0', '0'],
      ],
    ),
    '',
    `Ratio: **${ratio(relayRate, rawRate)}**. Figures are the medians of ${ROUNDS} rounds, relay then raw, ` +
      `each on a fresh backlog; per round (relay / raw, and the CPU other processes took meanwhile): ` +
      `${rounds.map((r) => `${num(r.relay)} / ${num(r.raw)} (${foreignCpuText(r.foreignCpu)})`).join('; ')}.`,
    '',
    `Lag under steady load: ${num(steady.sent)} signed callbacks at ${STEADY_RATE}/s for ${steady.seconds.toFixed(0)} s ` +
      `(production settings: poll every 1 s, a kick after each commit), each committing one event; lag is ` +
      `\`published_at − created_at\` of its outbox row (commit, claim, publish, confirm, mark): ` +
      `**p50 ${ms(lagP50)}, p99 ${ms(lagP99)}** over ${num(lags.length)} events.`,
  ].join('\n');

  return {
    title: 'Outbox relay',
    markdown,
    summary: [
      {
        item: 'Events published with confirms',
        ours: `${num(relayRate)} /s`,
        ceiling: `${num(rawRate)} /s (bare amqplib confirm channel)`,
        ratio: ratio(relayRate, rawRate),
        target: '≥ 0.50×',
        met: relayRate / rawRate >= 0.5,
      },
      {
        item: `Outbox lag at ${STEADY_RATE} events/s`,
        ours: `p50 ${ms(lagP50)}, p99 ${ms(lagP99)}`,
        ceiling: '',
        ratio: '',
        target: '',
        met: undefined,
      },
    ],
  };
}
