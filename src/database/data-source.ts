import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { validateEnvironment } from '../config/environment';
import { dataSourceOptions } from './typeorm-options';

// Used by `npm run migration:run`: the TypeORM CLI loads this file. Reads the same validated settings.
if (existsSync('.env')) process.loadEnvFile('.env');
const env = validateEnvironment(process.env);

export default new DataSource({
  ...dataSourceOptions({
    host: env.DB_HOST,
    port: env.DB_PORT,
    user: env.DB_USER,
    password: env.DB_PASSWORD,
    name: env.DB_NAME,
    poolSize: 2,
    migrateOnStart: false,
  }),
});
