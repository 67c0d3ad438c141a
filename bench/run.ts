/**
 * `npm run bench [-- --quick] [-- --only checkout,guard] [-- --out file.md]`
 *
 * Runs every benchmark of bench/, each side by side with its raw ceiling on this machine, and writes
 * bench/RESULTS.md (a --quick or --only run writes to the temp folder unless --out says otherwise).
 * Needs MariaDB, Redis and RabbitMQ as for the tests; uses its own schemas, vhost and Redis database
 * (bench/support/environment.ts). About 9 minutes; --quick about 2.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { authBench } from './auth.bench';
import { barcodeBench } from './barcode.bench';
import { capacityBench } from './capacity.bench';
import { checkoutBench } from './checkout.bench';
import { guardBench } from './guard.bench';
import { notificationsBench } from './notifications.bench';
import { platformBench } from './platform.bench';
import { reconcilerBench } from './reconciler.bench';
import { relayBench } from './relay.bench';
import { webhooksBench } from './webhooks.bench';
import { emptyDatabase, prepareDatabase } from './support/database';
import { machineReport } from './support/machine';
import { type BenchContext, type Section, type SummaryRow, table } from './support/report';
import { clearBenchRedis, ensureVhost, purgeBenchQueue } from './support/services';

const BENCHMARKS: Record<string, (context: BenchContext) => Promise<Section>> = {
  checkout: checkoutBench,
  barcode: barcodeBench,
  notifications: notificationsBench,
  relay: relayBench,
  webhooks: webhooksBench,
  guard: guardBench,
  auth: authBench,
  reconciler: reconcilerBench,
  platform: platformBench,
  capacity: capacityBench,
};

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});

async function main(): Promise<void> {
  const startedAt = new Date();
  const clock = performance.now();
  const quick = args.quick ?? false;
  const names = args.only ? args.only.split(',').map((name) => name.trim()) : Object.keys(BENCHMARKS);
  const unknown = names.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0)
    throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  const out =
    args.out ??
    (quick || args.only ? join(tmpdir(), 'payment-center-bench', 'RESULTS.md') : join('bench', 'RESULTS.md'));
  const context: BenchContext = {
    quick,
    seconds: (full) => (quick ? Math.max(1, Math.round(full / 4)) : full),
    log: (message) =>
      console.log(`[bench ${((performance.now() - clock) / 1000).toFixed(0).padStart(3)} s] ${message}`),
  };

  context.log('preparing the bench schema, vhost and Redis database');
  await prepareDatabase();
  await emptyDatabase();
  await ensureVhost();
  const machine = await machineReport(startedAt, quick);

  const sections: Section[] = [];
  for (const name of names) {
    await clearBenchRedis();
    await purgeBenchQueue();
    try {
      sections.push(await BENCHMARKS[name](context));
    } catch (error) {
      context.log(`${name} failed: ${(error as Error).stack ?? String(error)}`);
      sections.push({ title: name, markdown: `**Failed**: ${String(error)}`, summary: [] });
    }
  }
  await clearBenchRedis();
  await purgeBenchQueue();

  const summary: SummaryRow[] = sections.flatMap((s) => s.summary);
  const minutes = (performance.now() - clock) / 60_000;
  const markdown = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\`${quick ? ' --quick' : ''} in ${minutes.toFixed(1)} min. Every figure is measured in ` +
      'the same run as its ceiling on the same machine, so the ratio is what to compare across machines. ' +
      'How each is measured: [docs/testing.md, Benchmarks](../docs/testing.md#benchmarks) and the sections below.',
    '',
    machine,
    '',
    '## Summary',
    '',
    table(
      ['item', 'ours', 'ceiling', 'ratio', 'target', 'met'],
      summary.map((row) => [
        row.item,
        row.ours,
        row.ceiling,
        row.ratio,
        row.target,
        row.met === undefined ? '' : row.met ? 'yes' : '**no**',
      ]),
    ),
    '',
    ...sections.flatMap((section) => [`## ${section.title}`, '', section.markdown, '']),
  ].join('\n');
  mkdirSync(dirname(out), { recursive: true });
  // Formatted as `npm run lint` (prettier --check) expects the committed file to be.
  writeFileSync(out, await format(markdown, { ...(await resolveConfig(out)), parser: 'markdown' }));
  console.log(
    `\n${table(
      ['item', 'ours', 'ceiling', 'ratio', 'target'],
      summary.map((r) => [r.item, r.ours, r.ceiling, r.ratio, r.target]),
    )}`,
  );
  context.log(`wrote ${out}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
