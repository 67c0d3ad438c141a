import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { beijingDate } from '../common/beijing-time';
import { oneOffAppContext } from '../one-off-context';
import { CHANNELS, type Channel } from '../gateways/gateway.types';

/**
 * `npm run reconcile -- --channel wechat [--account ID] [--date YYYY-MM-DD]` (default: the default account,
 * yesterday, Beijing time): reconciles one channel account's statement for a day with the ledger, prints the run as JSON and exits 0 (matched, resolved
 * or no bill), 2 (differences need review) or 1 (no statement read).
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { channel: { type: 'string' }, account: { type: 'string' }, date: { type: 'string' } },
  });
  const channel = values.channel as Channel | undefined;
  if (!channel || !(CHANNELS as readonly string[]).includes(channel)) {
    console.error(`--channel must be one of ${CHANNELS.join(', ')}`);
    return 1;
  }
  const date = values.date ?? beijingDate(new Date(Date.now() - 24 * 3600 * 1000));
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    console.error('--date must be YYYY-MM-DD');
    return 1;
  }
  const app = await oneOffAppContext();
  try {
    const { ReconciliationService } = await import('./reconciliation.service.js');
    const run = await app.get(ReconciliationService).run(channel, date, 'cli', values.account ?? 'default');
    console.log(JSON.stringify(run, null, 2));
    if (run.status === 'REVIEW') return 2;
    return run.status === 'FAILED' || run.status === 'NOT_READY' ? 1 : 0;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
