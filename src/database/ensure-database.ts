import { createConnection } from 'mysql2/promise';
import type { DatabaseSettings } from './typeorm-options';

/** Creates the schema if it does not exist yet, so a fresh machine needs no manual SQL before migrating. */
export async function ensureDatabase(db: DatabaseSettings): Promise<void> {
  const connection = await createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    connectTimeout: 5000,
  });
  try {
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS \`${db.name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await connection.end();
  }
}
