import { AppProcess } from './support/app-process';
import { appEnvironment } from './support/environment';
import { postForAnswer, sleep } from './support/load';
import { ForeignCpu, foreignCpuText } from './support/machine';
import { type BenchContext, codeBlock, ms, num, ratio, type Section, table } from './support/report';
import {
  countCheckout,
  DEFAULT_SHOPPER,
  FIXED_WINDOWS,
  httpCheckouts,
  medianOf,
  nextBuyer,
  ORDER,
  RATE,
  type Round,
  scheduledCheckouts,
  type Shopper,
} from './checkout.bench';

let codes = 0;
/**
 * A WeChat payment code (18 digits beginning 10–15, src/payment-center/barcode/auth-code.ts), new for every
 * pay: the pid and a counter in the middle digits, so two runs side by side do not repeat each other's codes.
 */
const nextAuthCode = () =>
  `13${String(process.pid % 1000).padStart(3, '0')}${String(codes++ % 1e12).padStart(12, '0')}0`;

const paidAtOnce = (body: string) => (JSON.parse(body) as { status?: string }).status === 'PAID';

/** The counter: the same bench shop, paying with the buyer's code; no channel, the code's format says WeChat. */
const COUNTER: Shopper = {
  headers: DEFAULT_SHOPPER.headers,
  payBody: () => JSON.stringify({ authCode: nextAuthCode() }),
  paid: paidAtOnce,
};

const WAYS = [
  { name: 'QR checkout (`{"channel":"wechat"}`)', shopper: DEFAULT_SHOPPER },
  { name: 'counter checkout (`{"authCode":…}`, paid at once)', shopper: COUNTER },
] as const;

/** A light fixed rate, requests/s: the pay's own latency, without the queueing of a busy app. */
const LIGHT_RATE = 20;

/** Closed-loop rounds per way (odd: the median is a round's figure), and the connections of each. */
const ROUNDS = 5;
const CONNECTIONS = 8;

/** Pays traced statement by statement (one at a time, after their orders were created). */
const TRACED = 5;

/**
 * The pay request alone and the after-commit work it sets off (for a PAID payment, the outbox relay publishing
 * its event): SQL statements and Redis commands averaged over `TRACED` pays, and one pay's trace.
 */
async function tracePays(app: AppProcess, shopper: Shopper) {
  let statements = 0;
  let transactions = 0;
  let rows = 0;
  const redis: Record<string, number> = {};
  let trace: string[] = [];
  for (let i = 0; i < TRACED; i++) {
    const created = await postForAnswer(`${app.url}/api/orders`, ORDER(nextBuyer()), shopper.headers);
    const { orderNo } = JSON.parse(created.body) as { orderNo: string };
    await sleep(100); // the order's own after-commit work out of the count
    await app.count(100);
    const paid = await postForAnswer(`${app.url}/api/orders/${orderNo}/pay`, shopper.payBody(), shopper.headers);
    if (paid.status !== 200 || !(shopper.paid?.(paid.body) ?? true)) {
      throw new Error(`POST /api/orders/${orderNo}/pay answered ${paid.status} ${paid.body.slice(0, 200)}`);
    }
    await sleep(100); // after-commit work of the pay (announcements, jobs) counted with it
    const c = await app.counters();
    statements += c.statements;
    transactions += c.transactions;
    rows += c.rowsWritten;
    for (const [name, n] of Object.entries(c.redisCommands)) redis[name] = (redis[name] ?? 0) + n;
    // The shortest trace: the one without a cache's refresh (account bindings, every ACCOUNT_CACHE_MS) in it.
    if (i === 0 || c.trace.length < trace.length) trace = c.trace;
  }
  return {
    statements: statements / TRACED,
    transactions: transactions / TRACED,
    rows: rows / TRACED,
    redis: Object.entries(redis)
      .map(([name, n]) => `${name} ×${num(n / TRACED)}`)
      .join(', '),
    trace,
  };
}

/** A traced statement, short enough to read: its first words and the table it works on. */
const shortStatement = (sql: string) => (sql.length > 140 ? `${sql.slice(0, 137)}...` : sql);

/**
 * The counter's checkout (POST /api/orders, then its pay with a buyer's payment code that the vendor pays at
 * once) next to the QR checkout, in the same app, the two taking turns window after window and round after
 * round (which goes first alternates), so a machine that speeds up or slows down moves both alike.
 */
export async function barcodeBench(context: BenchContext): Promise<Section> {
  const app = await AppProcess.start(appEnvironment());
  const windows: [Window[], Window[]] = [[], []];
  const light: Window[] = [];
  const rounds: [Round[], Round[]] = [[], []];
  const roundErrors = [0, 0];
  let counted: Awaited<ReturnType<typeof countCheckout>>[];
  let traced: Awaited<ReturnType<typeof tracePays>>[];
  const seconds = context.seconds(10);
  const roundSeconds = context.seconds(3);
  const roundCount = context.quick ? 3 : ROUNDS;
  try {
    context.log('barcode: warming up');
    for (const way of WAYS) await httpCheckouts(app.url, CONNECTIONS, context.seconds(3), way.shopper);
    counted = [];
    for (const way of WAYS) counted.push(await countCheckout(app, 40, way.shopper));
    traced = [];
    for (const way of WAYS) traced.push(await tracePays(app, way.shopper));
    context.log(`barcode: ${LIGHT_RATE} requests/s, QR then counter`);
    for (const way of WAYS) {
      await sleep(300);
      const foreign = ForeignCpu.start();
      const figures = await scheduledCheckouts(app.url, LIGHT_RATE, context.seconds(5), way.shopper);
      light.push({ ...figures, foreignCpu: foreign.stop() });
    }
    context.log(`barcode: ${RATE} requests/s, QR and counter taking turns`);
    for (let window = 0; window < FIXED_WINDOWS; window++) {
      for (const which of window % 2 === 0 ? [0, 1] : [1, 0]) {
        await sleep(300);
        const foreign = ForeignCpu.start();
        const figures = await scheduledCheckouts(app.url, RATE, seconds, WAYS[which].shopper);
        windows[which].push({ ...figures, foreignCpu: foreign.stop() });
      }
    }
    context.log(`barcode: ${CONNECTIONS} connections, QR and counter taking turns`);
    for (let round = 0; round < roundCount; round++) {
      for (const which of round % 2 === 0 ? [0, 1] : [1, 0]) {
        await sleep(300);
        await app.count();
        const { checkouts } = await httpCheckouts(app.url, CONNECTIONS, roundSeconds, WAYS[which].shopper);
        const { cpuMs } = await app.counters();
        roundErrors[which] += checkouts.errors;
        rounds[which].push({ perSecond: checkouts.perSecond, cpuMs: cpuMs / checkouts.count });
      }
    }
  } finally {
    await app.stop();
  }

  // The median window by pay p99 of each way; its figures are the way's.
  const fixed = windows.map((w) => [...w].sort((a, b) => a.pays.p99 - b.pays.p99)[Math.floor(w.length / 2)]);
  const closed = rounds.map(medianOf);
  const [qr, counter] = [0, 1];
  const markdown = [
    `The counter's checkout: \`POST /api/orders\`, then \`POST /api/orders/:orderNo/pay\` with \`{"authCode":…}\` ` +
      `and no channel (a new WeChat-format payment code for every pay: 18 digits from 13). The instant gateway ` +
      `answers \`payByCode\` with \`paid\` at once, so the pay records its \`pay\` attempt and PAID in the same ` +
      `request and answers \`PAID\` (checked on every answer; any other counts as a failure). Next to it, in the ` +
      `same app, the QR checkout of the section above (\`{"channel":"wechat"}\`, answered PAYING with a code URL). ` +
      `The two take turns window after window and round after round, which goes first alternating. As for every ` +
      `bench app, a payment's first query is due an hour away (\`BARCODE_QUERY_EVERY=1h\` as ` +
      `\`PAYMENT_QUERY_SCHEDULE=1h\`), so none comes due during the run; a counter payment paid at once has no ` +
      `next query time at all (PAID ends it), so no recovery slot ever claims it, in production either.`,
    '',
    `At a fixed ${RATE} requests/s (a checkout due every ${ms(2000 / RATE)} for ${seconds} s, each request's ` +
      `latency counted from when it was due, as in the section above; **pay** is the pay request alone, from the ` +
      `order's answer). The median of ${FIXED_WINDOWS} windows per way by pay p99:`,
    '',
    table(
      [
        '',
        '**pay p50 / p99**',
        'request p50 / p99 (both requests)',
        'checkout p50 / p99',
        'failed checkouts',
        'pay p99 of each window (CPU other processes took)',
      ],
      WAYS.map((way, i) => [
        way.name,
        `**${ms(fixed[i].pays.p50)} / ${ms(fixed[i].pays.p99)}**`,
        `${ms(fixed[i].requests.p50)} / ${ms(fixed[i].requests.p99)}`,
        `${ms(fixed[i].checkouts.p50)} / ${ms(fixed[i].checkouts.p99)}`,
        windows[i].reduce((sum, w) => sum + w.checkouts.errors, 0),
        windows[i].map((w) => `${ms(w.pays.p99)} (${foreignCpuText(w.foreignCpu)})`).join(', '),
      ]),
    ),
    '',
    `At a light ${LIGHT_RATE} requests/s (one window of ${context.seconds(5)} s per way, the same schedule): the ` +
      `pay's own time, next to nothing else.`,
    '',
    table(
      ['', '**pay p50 / p99**', 'checkout p50 / p99', 'failed checkouts', 'CPU other processes took'],
      WAYS.map((way, i) => [
        way.name,
        `**${ms(light[i].pays.p50)} / ${ms(light[i].pays.p99)}**`,
        `${ms(light[i].checkouts.p50)} / ${ms(light[i].checkouts.p99)}`,
        light[i].checkouts.errors,
        foreignCpuText(light[i].foreignCpu),
      ]),
    ),
    '',
    `Closed loop: ${CONNECTIONS} autocannon connections running checkouts back to back, ${roundCount} rounds of ` +
      `${roundSeconds} s per way (medians); and what one checkout costs (40 counted in the app, as in the section ` +
      `above); and the pay request alone with the after-commit work it sets off (for a PAID payment, the outbox ` +
      `relay publishing its \`payment.succeeded\`), ${TRACED} pays one at a time, each counted until 100 ms after ` +
      `its answer:`,
    '',
    table(
      [
        '',
        'checkouts/s',
        'app CPU per checkout',
        'checkouts/s of each round',
        'failed checkouts',
        'SQL statements / transactions / rows written per checkout',
        'Redis commands per checkout',
        'one pay: statements / transactions / rows written',
        'one pay: Redis commands',
      ],
      WAYS.map((way, i) => [
        way.name,
        num(closed[i].perSecond),
        ms(closed[i].cpuMs),
        rounds[i].map((r) => num(r.perSecond)).join(', '),
        roundErrors[i],
        `${num(counted[i].statements)} / ${num(counted[i].transactions)} / ${num(counted[i].rows)}`,
        num(counted[i].redis),
        `${num(traced[i].statements)} / ${num(traced[i].transactions)} / ${num(traced[i].rows)}`,
        traced[i].redis || 'none',
      ]),
    ),
    '',
    `Counter against QR, same app: pay p50 at ${LIGHT_RATE} requests/s ` +
      `${ratio(light[counter].pays.p50, light[qr].pays.p50)}; at ${RATE} requests/s pay p99 ${ratio(fixed[counter].pays.p99, fixed[qr].pays.p99)}, pay p50 ` +
      `${ratio(fixed[counter].pays.p50, fixed[qr].pays.p50)}, checkouts/s ` +
      `${ratio(closed[counter].perSecond, closed[qr].perSecond)}, CPU per checkout ` +
      `${ratio(closed[counter].cpuMs, closed[qr].cpuMs)}, statements per checkout ` +
      `${num(counted[counter].statements - counted[qr].statements)} more.`,
    '',
    `The statements of one counter pay and its after-commit work, as the app sent them (parameters inlined, cut ` +
      `at 140 characters):`,
    '',
    codeBlock(traced[counter].trace.map(shortStatement).join('\n')),
    '',
    `And of one QR pay:`,
    '',
    codeBlock(traced[qr].trace.map(shortStatement).join('\n')),
  ].join('\n');
  return {
    title: 'Counter (barcode) checkout',
    markdown,
    summary: [
      {
        item: `Counter pay (barcode, paid at once) p50 / p99 at ${RATE} requests/s, against the QR pay (same app, taking turns)`,
        ours: `${ms(fixed[counter].pays.p50)} / ${ms(fixed[counter].pays.p99)}`,
        ceiling: `${ms(fixed[qr].pays.p50)} / ${ms(fixed[qr].pays.p99)} (QR pay)`,
        ratio: ratio(fixed[counter].pays.p99, fixed[qr].pays.p99),
        target: '',
        met: undefined,
      },
    ],
  };
}

type Window = Awaited<ReturnType<typeof scheduledCheckouts>> & { foreignCpu: number };
