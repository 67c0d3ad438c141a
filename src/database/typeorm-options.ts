import type { DataSourceOptions } from 'typeorm';
import { migrations } from '../../migrations';

export interface DatabaseSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  name: string;
  poolSize: number;
  migrateOnStart: boolean;
}

/**
 * One definition used by the app, the migration CLI and the tests. `synchronize` is never on. No entities:
 * in the app each module registers its own (`TypeOrmModule.forFeature`, gathered by `autoLoadEntities` in
 * DatabaseModule); migrations are plain SQL and need none; a DataSource built by hand outside Nest lists
 * the entities it reads.
 */
export function dataSourceOptions(db: DatabaseSettings): DataSourceOptions {
  return {
    type: 'mysql',
    host: db.host,
    port: db.port,
    username: db.user,
    password: db.password,
    database: db.name,
    migrations,
    migrationsRun: db.migrateOnStart,
    migrationsTransactionMode: 'each',
    synchronize: false,
    // Store and read every DATETIME as UTC, whatever the server's time zone.
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    supportBigNumbers: true,
    bigNumberStrings: true,
    poolSize: db.poolSize,
    // trace: false — mysql2's promise API otherwise captures a stack trace on every statement, a cost paid on
    // every query of the money path; a database error's stack then starts in mysql2, and our logs name the step.
    extra: { connectionLimit: db.poolSize, waitForConnections: true, connectTimeout: 5000, trace: false },
  };
}
