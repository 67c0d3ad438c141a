import 'reflect-metadata';
import { connect } from 'amqplib';
import { execFileSync } from 'node:child_process';
import { DataSource } from 'typeorm';
import { ensureDatabase } from '../../src/database/ensure-database';
import { dataSourceOptions } from '../../src/database/typeorm-options';
import { ensureTestApplication } from './api-keys';
import { testDatabase } from './database';

/** Creates the test schema once and runs the migrations, exactly as `npm run migration:run` would. */
export default async function globalSetup(): Promise<void> {
  const settings = testDatabase();
  await ensureDatabase(settings);
  const dataSource = new DataSource(dataSourceOptions({ ...settings, migrateOnStart: false }));
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
    // Events an aborted earlier run left unpublished would be relayed into this run's partner queues.
    await dataSource.query('UPDATE outbox_events SET published_at = NOW(3) WHERE published_at IS NULL');
    // Channel accounts a killed run left behind would refuse every app's boot here (sealed with its own KEK).
    await dataSource.query('DELETE FROM account_bindings');
    await dataSource.query('DELETE FROM channel_accounts');
  } finally {
    await dataSource.destroy();
  }
  await ensureTestApplication();
  await deleteLeftoverTestQueues();
}

/**
 * Test suites declare partner queues named `partner.<letter(s)><run id>-…` and delete them when they end; a
 * run that was killed leaves its queues bound to the exchange, collecting every later run's events. Remove them.
 */
async function deleteLeftoverTestQueues(): Promise<void> {
  // Set when several test runs share one broker at the same time: one run must not delete another's live queues.
  if (process.env.TEST_KEEP_QUEUES === '1') return;
  let names: string[];
  try {
    names = execFileSync('rabbitmqctl', ['-q', 'list_queues', 'name'], { encoding: 'utf8', timeout: 60_000 })
      .split('\n')
      .map((line) => line.trim())
      .filter((name) => /^partner\.(t|k|w|a|u|c|wt|r|g|l|chaos)[0-9a-z]{6,}-/.test(name));
  } catch {
    return; // no rabbitmqctl here: nothing to tidy
  }
  if (names.length === 0) return;
  const connection = await connect(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  try {
    const channel = await connection.createChannel();
    for (const name of names) await channel.deleteQueue(name);
  } finally {
    await connection.close();
  }
}
