import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { ensureDatabase } from '../../src/database/ensure-database';
import { dataSourceOptions } from '../../src/database/typeorm-options';
import { insertBenchKey } from './api-key';
import { BENCH_DB, databaseSettings } from './environment';

/** Creates the schema if needed and runs the migrations, as `npm run migration:run` does. */
export async function prepareDatabase(name = BENCH_DB): Promise<void> {
  const settings = databaseSettings(name);
  await ensureDatabase(settings);
  const dataSource = new DataSource(dataSourceOptions({ ...settings, poolSize: 2 }));
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
  const pool = rawPool(1, name);
  await insertBenchKey(pool).finally(() => pool.end());
}

/** Empties every table of a bench schema (not the migrations' record), so each run starts from the same state. */
export async function emptyDatabase(name = BENCH_DB): Promise<void> {
  const pool = rawPool(1, name);
  try {
    const connection = await pool.getConnection();
    try {
      const tables = await connection.query<RowDataPacket[]>(
        `SELECT table_name AS name FROM information_schema.tables
          WHERE table_schema = ? AND table_type = 'BASE TABLE' AND table_name <> 'migrations'`,
        [name],
      );
      await connection.query('SET FOREIGN_KEY_CHECKS = 0');
      for (const table of tables[0]) await connection.query(`TRUNCATE TABLE \`${String(table.name)}\``);
      await connection.query('SET FOREIGN_KEY_CHECKS = 1');
    } finally {
      connection.release();
    }
    await insertBenchKey(pool);
  } finally {
    await pool.end();
  }
}

/**
 * A bare mysql2 pool with the app's connection settings (UTC, utf8mb4, big numbers as strings, no stack capture), for the
 * raw ceilings and for seeding. `query` (text protocol, client-side parameters) is what TypeORM uses too.
 */
export function rawPool(connections: number, name = BENCH_DB): Pool {
  const db = databaseSettings(name);
  return createPool({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.name,
    connectionLimit: connections,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: false,
    trace: false, // as the app's pool (see dataSourceOptions)
  });
}

export async function rows<T>(pool: Pool, sql: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await pool.query<RowDataPacket[]>(sql, params);
  return result as T[];
}

/** The server's row-write counters (Handler_write/update/delete): on a quiet machine, the rows a phase wrote. */
export interface HandlerWrites {
  written: number;
  updated: number;
  deleted: number;
}

export async function handlerWrites(pool: Pool): Promise<HandlerWrites> {
  const status = await rows<{ Variable_name: string; Value: string }>(
    pool,
    `SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_write', 'Handler_update', 'Handler_delete')`,
  );
  const value = (name: string) => Number(status.find((s) => s.Variable_name === name)?.Value ?? 0);
  return { written: value('Handler_write'), updated: value('Handler_update'), deleted: value('Handler_delete') };
}

export function rowsWrittenBetween(before: HandlerWrites, after: HandlerWrites): number {
  return after.written - before.written + (after.updated - before.updated) + (after.deleted - before.deleted);
}
