import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ensureDatabase } from '../../src/database/ensure-database';
import { dataSourceOptions } from '../../src/database/typeorm-options';
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
  } finally {
    await dataSource.destroy();
  }
}
