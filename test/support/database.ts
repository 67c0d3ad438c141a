import { createPool, type Pool } from 'mysql2/promise';
import type { DatabaseSettings } from '../../src/database/typeorm-options';

export function testDatabase(): DatabaseSettings {
  return {
    host: process.env.DB_HOST ?? '127.0.0.1',
    port: Number(process.env.DB_PORT ?? 3306),
    user: process.env.DB_USER ?? 'root',
    password: process.env.DB_PASSWORD ?? '',
    name: process.env.DB_NAME ?? 'payment_center_test',
    poolSize: 5,
    migrateOnStart: false,
  };
}

/** A plain connection pool for assertions: tests check rows with SQL, not through the app's code. */
export function sqlPool(): Pool {
  const db = testDatabase();
  return createPool({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.name,
    connectionLimit: 4,
  });
}

/**
 * Takes every payment and refund out of the recovery schedule (other suites' leftovers in the shared test
 * database), so the recovery slots and sweeps of the apps a suite starts work only on its own rows.
 */
export async function parkRecoveryWork(db: Pool): Promise<void> {
  await db.query('UPDATE payments SET next_query_at = NULL WHERE next_query_at IS NOT NULL');
  await db.query('UPDATE refunds SET next_query_at = NULL WHERE next_query_at IS NOT NULL');
}
