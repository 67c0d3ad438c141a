import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { validateEnvironment } from '../config/environment';
import { ensureDatabase } from './ensure-database';
import { dataSourceOptions } from './typeorm-options';

/** `npm run migration:run`: creates the schema if it is missing, then runs every pending migration. */
async function migrate(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateEnvironment(process.env);
  const settings = {
    host: env.DB_HOST,
    port: env.DB_PORT,
    user: env.DB_USER,
    password: env.DB_PASSWORD,
    name: env.DB_NAME,
    poolSize: 2,
    migrateOnStart: false,
  };
  await ensureDatabase(settings);
  const dataSource = new DataSource(dataSourceOptions(settings));
  await dataSource.initialize();
  try {
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    console.log(ran.length === 0 ? 'No migrations are pending' : `Ran ${ran.map((m) => m.name).join(', ')}`);
  } finally {
    await dataSource.destroy();
  }
}

migrate().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
