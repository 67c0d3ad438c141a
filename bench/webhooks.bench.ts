import { cpus } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Pool, ResultSetHeader } from 'mysql2/promise';
import { newOrderNo, newPaymentNo } from '../src/common/ids';
import type { PartnerConfig } from '../src/config/environment';
import { eventPayment, type PaymentEventBody } from '../src/notifications/payment-event';
import { webhookHeaders } from '../src/notifications/webhook/webhook.sender';
import { callbackRequests, NOTIFY_PATH } from './notifications.bench';
import { AppProcess, type AppCounters } from './support/app-process';
import { seedPayingPayments, signedCallbacks } from './support/callbacks';
import { rawPool, rows } from './support/database';
import { appEnvironment, BENCH_PARTNER } from './support/environment';
import { fixedRate, httpLoad, percentile, post, sleep } from './support/load';
import { APP, BENCH, ELSEWHERE, foreignCpuText, MachineCpu } from './support/machine';
import { type BenchContext, ms, num, ratio, type Section, table } from './support/report';
import { purgeBenchQueue } from './support/services';
import { type Receipts, WebhookReceiver } from './support/webhook-receiver';

/** WEBHOOK_CONCURRENCY as the app under test reads it (default 8): the bare client keeps as many POSTs in flight. */
const CONCURRENCY = Number(process.env.WEBHOOK_CONCURRENCY ?? 8);
/** Throughput rounds (bare, then app, each on the same fresh events); the medians are the figures. */
const ROUNDS = 3;
/** The steady load of the lag measurement: events per second (BENCH_WEBHOOK_RATE), for BENCH_WEBHOOK_SECONDS. */
const STEADY_RATE = Number(process.env.BENCH_WEBHOOK_RATE ?? 100);
const STEADY_SECONDS = Number(process.env.BENCH_WEBHOOK_SECONDS ?? 20);

type WebhookPartner = PartnerConfig & { url: string };

/** The bench's webhook partner: every payment event, POSTed to the receiver. */
function webhookPartner(url: string): WebhookPartner {
  return {
    name: 'bench-hooks',
    bindings: ['payment.#'],
    keyId: 'bench-hooks-k1',
    secret: 'bench-hooks-only-secret-0123456789abcdef',
    transport: 'webhook',
    url,
  };
}

interface SeededEvent {
  eventId: string;
  type: string;
  body: string;
}

/** A `payment.succeeded` body as OutboxWriter shapes it (every field, the documented key order). */
function eventBody(eventId: string, at: Date, applicationId: string): string {
  const paymentNo = newPaymentNo(at);
  const body: PaymentEventBody = {
    id: eventId,
    type: 'payment.succeeded',
    occurredAt: at.toISOString(),
    version: 2,
    orderSequence: 1,
    payment: eventPayment(
      {
        paymentNo,
        orderNo: newOrderNo(),
        channel: 'wechat',
        amountFen: 2500,
        currency: 'CNY',
        status: 'PAID',
        gatewayTradeNo: `4200${randomBytes(12).toString('hex')}`,
        paidAmountFen: 2500,
        paidAt: at.toISOString(),
        closedAt: null,
      },
      applicationId,
    ),
  };
  return JSON.stringify(body);
}

/**
 * Writes `count` events and their webhook partner's delivery rows as OutboxWriter writes them: the event due for
 * the relay, the delivery PENDING and due now on its own schedule. Returns the delivery rows' id range.
 */
async function seedDeliveries(
  pool: Pool,
  partner: string,
  count: number,
): Promise<{ ids: [number, number]; events: SeededEvent[] }> {
  const now = new Date();
  const applicationId = `app_${randomBytes(8).toString('hex')}`;
  const events: SeededEvent[] = [];
  let first = 0;
  let last = 0;
  for (let start = 0; start < count; start += 1000) {
    const chunk = Array.from({ length: Math.min(1000, count - start) }, () => {
      const eventId = randomUUID();
      return { eventId, type: 'payment.succeeded', body: eventBody(eventId, now, applicationId) };
    });
    events.push(...chunk);
    await pool.query(
      `INSERT INTO outbox_events (event_id, type, payment_no, application_id, version, body, occurred_at, next_attempt_at,
         claimed_by, attempts, last_error, published_at, created_at) VALUES ?`,
      [
        chunk.map((e) => {
          const paymentNo = (JSON.parse(e.body) as PaymentEventBody).payment.paymentNo;
          return [e.eventId, e.type, paymentNo, applicationId, 2, e.body, now, now, null, 0, null, null, now];
        }),
      ],
    );
    const [inserted] = await pool.query<ResultSetHeader>(
      `INSERT INTO event_deliveries (event_id, partner, event_type, status, attempts, next_attempt_at, claimed_by,
         schedule_step, last_error, published_at, failed_at, created_at, updated_at) VALUES ?`,
      [chunk.map((e) => [e.eventId, partner, e.type, 'PENDING', 0, now, null, 0, null, null, null, now, now])],
    );
    if (start === 0) first = inserted.insertId;
    last = inserted.insertId + chunk.length - 1;
  }
  return { ids: [first, last], events };
}

/** Waits until every delivery of the range is PUBLISHED; answers when the last was marked, and how many took more than one POST. */
async function waitDelivered(pool: Pool, [first, last]: [number, number]): Promise<{ end: Date; retried: number }> {
  for (;;) {
    const [row] = await rows<{ n: number }>(
      pool,
      "SELECT COUNT(*) AS n FROM event_deliveries WHERE id BETWEEN ? AND ? AND status <> 'PUBLISHED'",
      [first, last],
    );
    if (Number(row.n) === 0) break;
    await sleep(25);
  }
  const [done] = await rows<{ at: Date; retried: number }>(
    pool,
    'SELECT MAX(published_at) AS at, SUM(attempts > 1) AS retried FROM event_deliveries WHERE id BETWEEN ? AND ?',
    [first, last],
  );
  return { end: done.at, retried: Number(done.retried) };
}

/**
 * The ceiling: a bare node:http client posting the same bodies, signed and headed as WebhookSender signs them,
 * through a keep-alive Agent with the sender's options, CONCURRENCY POSTs in flight, each answer read whole.
 */
async function barePosts(partner: WebhookPartner, events: readonly SeededEvent[]): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, maxFreeSockets: CONCURRENCY });
  const postOne = (event: SeededEvent) =>
    new Promise<void>((resolve, reject) => {
      const body = Buffer.from(event.body);
      const timestamp = Math.floor(Date.now() / 1000);
      const sent = request(
        partner.url,
        {
          method: 'POST',
          agent,
          headers: webhookHeaders(partner, event, body, timestamp),
        },
        (response) => {
          response.resume();
          response.on('end', () =>
            response.statusCode === 200 ? resolve() : reject(new Error(`receiver answered ${response.statusCode}`)),
          );
          response.on('error', reject);
        },
      );
      sent.on('error', reject);
      sent.end(body);
    });
  try {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < events.length) await postOne(events[next++]);
      }),
    );
    return events.length / ((performance.now() - started) / 1000);
  } finally {
    agent.destroy();
  }
}

/** The receiver got every event of `events` (at least once): otherwise the round measured something else. */
function checkReceived(receipts: Receipts, events: readonly SeededEvent[], who: string): void {
  const arrived = new Set(receipts.arrivals.map(([eventId]) => eventId));
  const missing = events.filter((e) => !arrived.has(e.eventId)).length;
  if (missing > 0) throw new Error(`${who}: the receiver did not get ${missing} of ${events.length} events`);
}

type MachineWindow = ReturnType<MachineCpu['stop']>;

/** Share of one core other work took during a window (0.5 = half a core). */
const foreign = (window: MachineWindow) => window.ms.get(ELSEWHERE)! / 1000 / window.seconds;

/** CPU milliseconds per POST of the sender (the app or the bare client), the receiver and MariaDB, and the cores busy. */
interface CpuPerPost {
  sender: number;
  receiver: number;
  mariadb: number;
  /** Cores the bench, the app, the receiver and the services kept busy together (of the machine's). */
  cores: number;
}

function cpuPerPost(window: MachineWindow, receipts: Receipts, count: number, senderMs: number): CpuPerPost {
  const ours = [APP, BENCH, 'MariaDB', 'Redis', 'RabbitMQ'].reduce((sum, group) => sum + window.ms.get(group)!, 0);
  return {
    sender: senderMs / count,
    receiver: receipts.cpuMs / count,
    mariadb: window.ms.get('MariaDB')! / count,
    cores: ours / 1000 / window.seconds,
  };
}

interface Round {
  bare: number;
  app: number;
  /** POSTs the receiver counted for the app's round beyond one per event (a repeat after a lost answer). */
  extraPosts: number;
  /** TCP connections the receiver accepted during each side's round. */
  bareConnections: number;
  appConnections: number;
  foreignCpu: number;
}

/**
 * Webhook dispatcher: deliveries POSTed to a partner that answers 200 at once, by the app's dispatcher (claim
 * with SKIP LOCKED, POST, mark PUBLISHED) against a bare keep-alive HTTP client with the same concurrency; then
 * the lag from the delivery row's creation to the partner's receipt while signed callbacks arrive at a steady
 * rate, each committing one event.
 */
/**
 * What limits the dispatcher, from this run's figures: how long a slot spends per delivery against a bare POST
 * (the waiting), and the most deliveries a second the app, the receiver and MariaDB could make on this machine's
 * cores at the CPU they spent per delivery (the floor).
 */
function limitsText(
  appRate: number,
  bareRate: number,
  cpu: { sender: number; receiver: number; mariadb: number },
): string {
  const slotMs = (CONCURRENCY / appRate) * 1000;
  const bareMs = (CONCURRENCY / bareRate) * 1000;
  const perDeliveryMs = cpu.sender + cpu.receiver + cpu.mariadb;
  const cores = cpus().length;
  const cap = (cores * 1000) / perDeliveryMs;
  return (
    `What limits it: each of the ${CONCURRENCY} slots spends ${num(slotMs)} ms per delivery, against ` +
    `${num(bareMs)} ms for a bare POST: a slot frees only once its delivery's mark has committed (an UPDATE and a ` +
    `log flush; the answers that come in meanwhile share the next one), and a partner's claims run one at a time. ` +
    `Past the waiting, the app, the receiver and MariaDB spend ${ms(perDeliveryMs)} of CPU per delivery, which on ` +
    `${cores} cores caps the dispatcher near ${num(cap)} deliveries/s, ${ratio(cap, bareRate)} of this ceiling. ` +
    'Freeing the slot at the 2xx and writing the mark behind it was tried and gained nothing beyond noise: the ' +
    'slots then wait on the claims. The levers left, in order: claims that take more rows at once (one claim ' +
    "transaction per partner at a time serves 8 to 16 deliveries); the marks written in the next claim's " +
    'transaction (one commit for both); and, past those, less CPU per delivery in the app and in MariaDB.'
  );
}

export async function webhooksBench(context: BenchContext): Promise<Section> {
  const count = context.quick ? 1000 : 6000;
  const pool = rawPool(4);
  const receiver = await WebhookReceiver.start();
  const partner = webhookPartner(receiver.url);
  const partners = JSON.stringify([BENCH_PARTNER, partner]);
  const rounds: Round[] = [];
  let counters!: AppCounters;
  let cpu!: { bare: CpuPerPost; app: CpuPerPost };
  let profile: { group: string; share: number }[];
  let bodyBytes = 0;

  try {
    // Throughput: the poll timer is far away, so only the kick (what OutboxWriter does after a commit) starts the
    // dispatcher and the relay on the seeded backlog. Bare and app take turns on the same events, ROUNDS times,
    // after a warm-up of both (1,000 deliveries: a shorter one left the first round visibly slower on both sides).
    const app = await AppProcess.start(appEnvironment({ PARTNERS: partners, RELAY_POLL_INTERVAL_MS: '60000' }));
    try {
      const kick = async () => {
        await app.request({ command: 'kick-relay' });
        await app.request({ command: 'kick-webhooks' });
      };
      const warm = await seedDeliveries(pool, partner.name, 1000);
      await kick();
      await waitDelivered(pool, warm.ids);
      await barePosts(partner, warm.events);
      for (let round = 0; round < ROUNDS; round++) {
        context.log(`webhooks: ${count} deliveries (round ${round + 1} of ${ROUNDS})`);
        const seeded = await seedDeliveries(pool, partner.name, count);
        bodyBytes = Math.round(seeded.events.reduce((sum, e) => sum + Buffer.byteLength(e.body), 0) / count);

        await receiver.reset();
        const bareMachine = MachineCpu.start();
        const bare = await barePosts(partner, seeded.events);
        const bareReceipts = await receiver.receipts();
        const bareCpu = bareMachine.stop();
        checkReceived(bareReceipts, seeded.events, 'bare client');

        await receiver.reset();
        await app.count();
        const appMachine = MachineCpu.start();
        const started = Date.now();
        await kick();
        const { end, retried } = await waitDelivered(pool, seeded.ids);
        const appCpu = appMachine.stop();
        counters = await app.counters();
        const appReceipts = await receiver.receipts();
        checkReceived(appReceipts, seeded.events, 'app');
        if (retried > 0) context.log(`webhooks: ${retried} deliveries took more than one POST`);
        cpu = {
          bare: cpuPerPost(bareCpu, bareReceipts, count, bareCpu.ms.get(BENCH)!),
          app: cpuPerPost(appCpu, appReceipts, count, counters.cpuMs),
        };
        rounds.push({
          bare,
          app: count / ((end.getTime() - started) / 1000),
          extraPosts: appReceipts.posts - count,
          bareConnections: bareReceipts.connections,
          appConnections: appReceipts.connections,
          foreignCpu: Math.max(foreign(bareCpu), foreign(appCpu)),
        });
      }

      // Where the app's CPU goes while it delivers: one more backlog, sampled.
      context.log('webhooks: where the app spends its CPU (sampling profile)');
      const profiled = await seedDeliveries(pool, partner.name, count);
      await app.startProfile();
      await kick();
      await waitDelivered(pool, profiled.ids);
      profile = await app.stopProfile('webhooks');
    } finally {
      await app.stop();
    }
  } catch (error) {
    await receiver.stop();
    await pool.end();
    throw error;
  }
  const median = (values: number[]) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  const appRate = median(rounds.map((r) => r.app));
  const bareRate = median(rounds.map((r) => r.bare));

  // Lag: production settings (poll every RELAY_POLL_INTERVAL_MS, a kick after each commit), events made by real
  // signed callbacks, one event (and one webhook delivery) each.
  const seconds = context.seconds(STEADY_SECONDS);
  const payments = await seedPayingPayments(pool, Math.ceil(STEADY_RATE * seconds * 1.2) + 50);
  const callbacks = signedCallbacks(payments);
  const receiptLags: number[] = [];
  const publishedLags: number[] = [];
  let steady: { sent: number; seconds: number; foreignCpu: number };
  const lagApp = await AppProcess.start(appEnvironment({ PARTNERS: partners }));
  try {
    context.log(`webhooks: lag at ${STEADY_RATE} callbacks/s for ${seconds} s`);
    await httpLoad({ url: lagApp.url, connections: 4, amount: 50, requests: callbackRequests(callbacks.slice(0, 50)) });
    await receiver.reset();
    let next = 50;
    const lagMachine = MachineCpu.start();
    const load = await fixedRate(STEADY_RATE, seconds, async () => {
      const callback = callbacks[next++];
      const status = await post(`${lagApp.url}${NOTIFY_PATH}`, callback.body, callback.headers);
      if (status >= 300) throw new Error(`callback answered ${status}`);
    });
    steady = { sent: load.count, seconds: load.seconds, foreignCpu: foreign(lagMachine.stop()) };
    const paymentNos = payments.slice(50, next).map((p) => p.paymentNo);
    const deadline = Date.now() + 30_000;
    let measured: { eventId: string; createdAt: Date; publishedAt: Date | null }[] = [];
    while (Date.now() < deadline) {
      measured = await rows(
        pool,
        `SELECT d.event_id AS eventId, d.created_at AS createdAt, d.published_at AS publishedAt
           FROM outbox_events e JOIN event_deliveries d ON d.event_id = e.event_id AND d.partner = ?
          WHERE e.payment_no IN (?)`,
        [partner.name, paymentNos],
      );
      if (measured.length >= load.count && measured.every((row) => row.publishedAt !== null)) break;
      await sleep(200);
    }
    const arrivals = new Map((await receiver.receipts()).arrivals);
    for (const row of measured) {
      const arrived = arrivals.get(row.eventId);
      if (arrived !== undefined) receiptLags.push(arrived - row.createdAt.getTime());
      if (row.publishedAt) publishedLags.push(row.publishedAt.getTime() - row.createdAt.getTime());
    }
  } finally {
    await lagApp.stop();
    await receiver.stop();
  }
  await purgeBenchQueue();
  await pool.end();

  receiptLags.sort((a, b) => a - b);
  publishedLags.sort((a, b) => a - b);
  const lagText = (lags: number[]) =>
    `p50 ${ms(percentile(lags, 50))}, p99 ${ms(percentile(lags, 99))}, max ${ms(lags[lags.length - 1] ?? NaN)}`;
  const perDelivery = (value: number) => num(value / count);
  const medianRound = (pick: (r: Round) => number) => num(median(rounds.map(pick)));

  const markdown = [
    `${num(count)} due \`payment.succeeded\` events (${bodyBytes} bytes each) with one webhook partner's delivery ` +
      `rows, written as \`OutboxWriter\` writes them, then one kick: the dispatcher claims due rows with ` +
      `\`FOR UPDATE SKIP LOCKED\` in a short transaction (enough for its WEBHOOK_CONCURRENCY = ${CONCURRENCY} slots ` +
      `and as many again ahead), reads their bodies, POSTs each signed (\`x-pc-signature\`) through its ` +
      `keep-alive agent and marks it PUBLISHED after the 200 (the answers that come in while a mark is written ` +
      `share the next UPDATE), starting the next POST as a slot frees (the relay, kicked too, marks the events ` +
      `themselves). ` +
      `**Bare** POSTs the same bodies with the same headers and signature from a node:http client with the ` +
      `sender's agent options and ${CONCURRENCY} POSTs in flight. Both go to the same receiver, a bare \`http\` ` +
      `server in a process of its own answering 200 at once. App: from the kick to the last \`published_at\` ` +
      `(read back from the database); bare: from the first POST to the last answer.`,
    '',
    table(
      [
        '',
        'deliveries/s',
        'SQL statements per delivery',
        'transactions per delivery',
        'CPU per delivery: sender / receiver / MariaDB',
        'cores busy (of 2)',
      ],
      [
        [
          'dispatcher',
          num(appRate),
          perDelivery(counters.statements),
          perDelivery(counters.transactions),
          `${ms(cpu.app.sender)} / ${ms(cpu.app.receiver)} / ${ms(cpu.app.mariadb)}`,
          num(cpu.app.cores),
        ],
        [
          'bare HTTP client',
          num(bareRate),
          '0',
          '0',
          `${ms(cpu.bare.sender)} / ${ms(cpu.bare.receiver)} / ${ms(cpu.bare.mariadb)}`,
          num(cpu.bare.cores),
        ],
      ],
    ),
    '',
    `Ratio: **${ratio(appRate, bareRate)}**. Figures are the medians of ${ROUNDS} rounds, bare then app, on the ` +
      `same fresh events; per round (app / bare deliveries/s, the receiver's TCP connections app / bare, and the ` +
      `CPU other processes took meanwhile): ` +
      `${rounds
        .map(
          (r) =>
            `${num(r.app)} / ${num(r.bare)} (${r.appConnections} / ${r.bareConnections} connections, ` +
            `${foreignCpuText(r.foreignCpu)})`,
        )
        .join('; ')}. ` +
      `POSTs beyond one per event in the app's rounds: ${rounds.map((r) => r.extraPosts).join(', ')}. CPU per ` +
      `delivery is the last round's (the app's own process, or the bench process for bare; the receiver's ` +
      `process; MariaDB's), with the cores the bench, app, receiver and services kept busy together; median TCP ` +
      `connections per round ${medianRound((r) => r.appConnections)} (app) and ` +
      `${medianRound((r) => r.bareConnections)} (bare).`,
    '',
    `Where the app's CPU goes while it delivers (V8 sampling profile, one more backlog of ${num(count)}):`,
    '',
    table(
      ['', 'share'],
      profile.filter((g) => g.share >= 0.005).map((g) => [g.group, `${(g.share * 100).toFixed(1)}%`]),
    ),
    '',
    `Lag under steady load: ${num(steady.sent)} signed callbacks at ${STEADY_RATE}/s for ` +
      `${steady.seconds.toFixed(0)} s (production settings: poll every 1 s, a kick after each commit), each ` +
      `committing one event with a delivery for the webhook partner (and one for the Orders queue). From the ` +
      `delivery row's \`created_at\` to the receiver's receipt: **${lagText(receiptLags)}**; to \`published_at\`: ` +
      `${lagText(publishedLags)}; over ${num(receiptLags.length)} deliveries (other processes took ` +
      `${foreignCpuText(steady.foreignCpu)} meanwhile).`,
    '',
    limitsText(appRate, bareRate, cpu.app),
  ].join('\n');

  return {
    title: 'Webhook dispatcher',
    markdown,
    summary: [
      {
        item: 'Webhook deliveries (POST, 200, marked)',
        ours: `${num(appRate)} /s`,
        ceiling: `${num(bareRate)} /s (bare keep-alive HTTP client, ${CONCURRENCY} in flight)`,
        ratio: ratio(appRate, bareRate),
        target: '≥ 0.50×',
        met: appRate / bareRate >= 0.5,
      },
      {
        item: `Webhook lag at ${STEADY_RATE} events/s (to receipt)`,
        ours: `p50 ${ms(percentile(receiptLags, 50))}, p99 ${ms(percentile(receiptLags, 99))}`,
        ceiling: '',
        ratio: '',
        target: '',
        met: undefined,
      },
    ],
  };
}
