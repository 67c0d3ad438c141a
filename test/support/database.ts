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
