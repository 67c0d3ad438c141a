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
  } finally {
    await dataSource.destroy();
  }
}
