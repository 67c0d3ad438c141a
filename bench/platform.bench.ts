import { checkoutRound, countCheckout, countedNoop, httpCheckouts, medianOf, type Round } from './checkout.bench';
import { AppProcess } from './support/app-process';
import { appEnvironment } from './support/environment';
import { takeTurns } from './support/load';
import { type BenchContext, ms, num, ratio, type Section, table } from './support/report';

/** The HTTP platforms Nest runs the app on (bench/app-server.ts's BENCH_PLATFORM). */
const PLATFORMS = ['express', 'fastify'] as const;
const NAMES = { express: 'Express', fastify: 'Fastify' };
/** Rounds per app (odd: the median is a round's figure). */
const ROUNDS = 7;
const CONNECTIONS = 32;

interface Turn {
  checkout: Round;
  noop: Round;
}

/** How many of the paired rounds (the two apps' turns of one round, one right after the other) Fastify won. */
function roundsWon(express: Round[], fastify: Round[], better: (f: Round, e: Round) => boolean): number {
  return fastify.filter((f, i) => better(f, express[i])).length;
}

const signed = (value: number) => `${value >= 0 ? '+' : '−'}${num(Math.abs(value))}`;
const percent = (ours: number, base: number) => `${signed((ours / base - 1) * 100)}%`;

/**
 * The whole app on Express and on Fastify (issue 27, first lever): the same AppModule, configureApp and
 * settings, two app processes side by side taking turns round after round (which goes first alternates), as
 * the checkout bench's part comparison does. Each turn: checkouts, then no-op requests, at the same
 * connections; the app's CPU per checkout and per no-op request from its own process.
 */
export async function platformBench(context: BenchContext): Promise<Section> {
  const seconds = context.seconds(4);
  const rounds = context.quick ? 3 : ROUNDS;
  const apps: AppProcess[] = [];
  let turns: Turn[][];
  let counted: Awaited<ReturnType<typeof countCheckout>>[];
  let profiles: { group: string; share: number }[][];
  try {
    for (const platform of PLATFORMS) apps.push(await AppProcess.start(appEnvironment({ BENCH_PLATFORM: platform })));
    context.log('platform: warming up both apps');
    for (const app of apps) {
      await httpCheckouts(app.url, 8, seconds);
      await countedNoop(app, 8, context.seconds(2));
    }
    // The same work on both: statements and Redis commands per checkout, counted in each app.
    counted = [];
    for (const app of apps) counted.push(await countCheckout(app, 40));
    context.log(`platform: ${rounds} rounds of ${seconds} s at ${CONNECTIONS} connections, taking turns`);
    turns = await takeTurns(apps.length, rounds, async (which) => ({
      checkout: await checkoutRound(apps[which], CONNECTIONS, seconds),
      noop: (({ figures, cpuMs }) => ({ perSecond: figures.perSecond, cpuMs }))(
        await countedNoop(apps[which], CONNECTIONS, seconds),
      ),
    }));
    context.log('platform: where each app spends its CPU (sampling profile)');
    profiles = [];
    for (const [i, app] of apps.entries()) {
      await app.startProfile();
      await httpCheckouts(app.url, 16, seconds);
      profiles.push(await app.stopProfile(`checkout-${PLATFORMS[i]}`));
    }
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
  }

  const checkouts = turns.map((t) => t.map((r) => r.checkout));
  const noops = turns.map((t) => t.map((r) => r.noop));
  const [expressCheckout, fastifyCheckout] = checkouts.map(medianOf);
  const [expressNoop, fastifyNoop] = noops.map(medianOf);
  const cheaper = (f: Round, e: Round) => f.cpuMs < e.cpuMs;
  const faster = (f: Round, e: Round) => f.perSecond > e.perSecond;
  const won = {
    checkoutCpu: roundsWon(checkouts[0], checkouts[1], cheaper),
    checkoutRate: roundsWon(checkouts[0], checkouts[1], faster),
    noopCpu: roundsWon(noops[0], noops[1], cheaper),
    noopRate: roundsWon(noops[0], noops[1], faster),
  };
  const cpuSaved = expressCheckout.cpuMs - fastifyCheckout.cpuMs;
  // Beyond noise: Fastify's checkout cheaper in every paired round (by chance alone: 1 in 2^rounds).
  const beyondNoise = won.checkoutCpu === rounds;
  const roundFigures = (values: Round[], pick: (r: Round) => string) => values.map(pick).join(', ');
  const shareOf = (profile: { group: string; share: number }[], group: string) =>
    profile.find((g) => g.group === group)?.share ?? 0;
  const groups = [...new Set(profiles.flatMap((p) => p.filter((g) => g.share >= 0.01).map((g) => g.group)))].sort(
    (a, b) => shareOf(profiles[0], b) + shareOf(profiles[1], b) - shareOf(profiles[0], a) - shareOf(profiles[1], a),
  );

  const markdown = [
    `The same app (AppModule, configureApp, the checkout bench's settings) on Nest's Express adapter and on its ` +
      `Fastify adapter (\`BENCH_PLATFORM=fastify\` in bench/app-server.ts), two processes side by side taking ` +
      `turns for ${rounds} rounds (which goes first alternates). A turn is ${seconds} s of checkouts (\`POST ` +
      `/api/orders\` then its pay) and then ${seconds} s of \`POST /bench/noop\`, both at ${CONNECTIONS} ` +
      `connections; CPU is the app process's own, per completed checkout or no-op request. On Fastify, what ` +
      `rides on Express only (Swagger UI, the queue board, trust proxy) is not mounted; the checkout path's ` +
      `middleware, guards, interceptors, filter and pipe are the same code on both.`,
    '',
    table(
      [
        'platform',
        'checkouts/s',
        'CPU per checkout',
        'no-op requests/s',
        'CPU per no-op request',
        'statements / Redis commands per checkout',
      ],
      PLATFORMS.map((platform, i) => [
        NAMES[platform],
        num([expressCheckout, fastifyCheckout][i].perSecond),
        ms([expressCheckout, fastifyCheckout][i].cpuMs),
        num([expressNoop, fastifyNoop][i].perSecond),
        ms([expressNoop, fastifyNoop][i].cpuMs),
        `${num(counted[i].statements)} / ${num(counted[i].redis)}`,
      ]),
    ),
    '',
    `Medians of the rounds. Fastify against Express: checkouts/s ${percent(fastifyCheckout.perSecond, expressCheckout.perSecond)} ` +
      `(higher in ${won.checkoutRate} of ${rounds} rounds), CPU per checkout ${signed(-cpuSaved)} ms ` +
      `(${percent(fastifyCheckout.cpuMs, expressCheckout.cpuMs)}; lower in ${won.checkoutCpu} of ${rounds} rounds), ` +
      `no-op requests/s ${percent(fastifyNoop.perSecond, expressNoop.perSecond)} (higher in ${won.noopRate} of ` +
      `${rounds}), CPU per no-op request ${signed(fastifyNoop.cpuMs - expressNoop.cpuMs)} ms (lower in ` +
      `${won.noopCpu} of ${rounds}). **${beyondNoise ? 'Beyond noise' : 'Not beyond noise'}**: counted as beyond ` +
      `noise when Fastify's checkout costs less CPU in every round than Express's turn of the same round.`,
    '',
    'Each round (Express; Fastify):',
    '',
    table(
      ['', 'Express', 'Fastify'],
      [
        ['checkouts/s', ...checkouts.map((r) => roundFigures(r, (x) => num(x.perSecond)))],
        ['CPU per checkout (ms)', ...checkouts.map((r) => roundFigures(r, (x) => num(x.cpuMs)))],
        ['no-op requests/s', ...noops.map((r) => roundFigures(r, (x) => num(x.perSecond)))],
        ['CPU per no-op request (ms)', ...noops.map((r) => roundFigures(r, (x) => num(x.cpuMs)))],
      ],
    ),
    '',
    `Where each app's CPU goes during ${seconds} s of checkouts at 16 connections (V8 sampling profile, groups ` +
      `of at least 1% on either; path-to-regexp, which @fastify/middie uses too, counts as Express):`,
    '',
    table(
      ['', 'Express', 'Fastify'],
      groups.map((group) => [group, ...profiles.map((p) => `${(shareOf(p, group) * 100).toFixed(1)}%`)]),
    ),
  ].join('\n');
  return {
    title: 'HTTP platform: Express and Fastify',
    markdown,
    summary: [
      {
        item: 'Checkout on Fastify (against Express, same run, taking turns)',
        ours: `${num(fastifyCheckout.perSecond)} checkouts/s, ${ms(fastifyCheckout.cpuMs)} CPU`,
        ceiling: `${num(expressCheckout.perSecond)} checkouts/s, ${ms(expressCheckout.cpuMs)} CPU`,
        ratio: ratio(fastifyCheckout.perSecond, expressCheckout.perSecond),
        target: 'adopt if it wins beyond noise',
        met: beyondNoise,
      },
    ],
  };
}
